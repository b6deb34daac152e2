"""``reenact`` on real media from ../shared/data: a real portrait, a real clip with audio."""

from __future__ import annotations

from video2stylegan import reenact
from video2stylegan.io.images import read_image
from video2stylegan.io.video import probe_video


def test_real_portrait_and_clip_with_paste_back_and_audio(tiny_G, tiny_budget, shared_data, tmp_path):
    source = shared_data / "portraits" / "face_recognition__obama.jpg"
    driving = shared_data / "driving" / "tps__driving.mp4"
    out = tmp_path / "real.mp4"
    r = reenact(source, driving, network=tiny_G, out=out, embedding=tiny_budget, max_frames=4, cache_dir=tmp_path,
                paste_back=True, keep_audio=True, progress=False, use_pose=False, use_local=False)
    info = probe_video(out)
    photo = read_image(source)
    # pasted back: the output has the source photo's size (odd sides padded to even) and the clip's audio
    assert (info.height, info.width) == ((photo.shape[0] + 1) // 2 * 2, (photo.shape[1] + 1) // 2 * 2)
    assert info.has_audio and info.num_frames == 4
    assert info.fps == probe_video(driving).fps
    assert r.missing == []
