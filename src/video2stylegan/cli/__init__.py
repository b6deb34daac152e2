"""Command-line interface: `video2stylegan SUBCOMMAND ...`."""
