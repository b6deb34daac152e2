"""The package's layer rule, checked on its import graph (read from the source, nothing imported).

Layers from the ground up (docs/architecture.md draws them)::

    errors, runtime        exceptions and process settings
    checks                 settings: a dataclass field's help, choices and bounds, and its checks
    io                     images, videos, atomic files, outputs
    faces | synthetic      real faces (detection, alignment, paste-back) | the synthetic world (renderer, clips)
    networks               StyleGAN3: layers, loading, registry, checkpoints
    metrics                pure scoring: arrays or tensors in, numbers out
    method                 the method's math on a generator (projection, PTI, pose, channels, combination)
    pipeline | training    the reenactment stages | training the bundled network
    evaluation             scoring a result video, reports, the ground-truth suite
    cli | ui               the command line | the web app
    video2stylegan         the package's public facade (``__init__``)

A module may import from its own package and from any lower layer; packages that share a layer
do not import each other. No internal import hides inside a function (that is how circles were
dodged); a function-level import is allowed only for an optional or heavy third-party dependency
in :data:`LAZY_THIRD_PARTY`. Inside a package, files do not import each other in a circle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "video2stylegan"

LAYERS = [
    {"errors", "runtime"},
    {"checks"},
    {"io"},
    {"faces", "synthetic"},
    {"networks"},
    {"metrics"},
    {"method"},
    {"pipeline", "training"},
    {"evaluation"},
    {"cli", "ui"},
    {""},  # the facade: video2stylegan/__init__.py and __main__.py
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

#: Third-party modules that may be imported inside a function: optional extras (the command runs
#: without them) or heavy imports that a command line's ``--help`` should not pay for.
LAZY_THIRD_PARTY = {
    "torch", "torchvision", "av", "dlib", "face_recognition_models", "matplotlib", "lpips",
    "torch_fidelity", "gradio", "ray", "playwright", "safetensors", "cv2", "scipy", "PIL",
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _package_of(module: str) -> str:
    """``"faces"`` for ``video2stylegan.faces.video``; ``""`` for the facade."""
    parts = module.split(".")
    return "" if len(parts) == 1 or module == "video2stylegan.__main__" else parts[1]


def _imports(module: str):
    """``(target module, line, inside a function)`` for every import in ``module``."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in inside
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # `from pkg import submodule` imports the submodule; `from pkg import name`, the package.
            names = [f"{target}.{alias.name}" for alias in node.names]
            for name in names:
                if name in MODULES:
                    yield name, node.lineno, id(node) in inside
            if any(name not in MODULES for name in names):
                yield target, node.lineno, id(node) in inside


def _internal_edges():
    for module in MODULES:
        for target, line, lazy in _imports(module):
            if target.split(".")[0] == "video2stylegan" and target != module:
                yield module, target, line, lazy


def test_every_package_has_a_layer():
    packages = {_package_of(m) for m in MODULES}
    assert packages <= set(RANK), f"packages without a layer in LAYERS: {sorted(packages - set(RANK))}"


def test_imports_only_point_down():
    upward = []
    for module, target, line, _ in _internal_edges():
        a, b = _package_of(module), _package_of(target)
        if a != b and not RANK[b] < RANK[a]:
            upward.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not upward, "imports that do not point to a lower layer:\n" + "\n".join(sorted(upward))


def test_no_internal_import_inside_a_function():
    lazy = [f"{MODULES[m].relative_to(PACKAGE.parent)}:{line} imports {t}"
            for m, t, line, inside in _internal_edges() if inside and _package_of(m) != ""]
    assert not lazy, "internal imports inside functions (move them to the top):\n" + "\n".join(sorted(lazy))


def test_function_level_third_party_imports_are_optional_or_heavy():
    odd = []
    for module in MODULES:
        for target, line, inside in _imports(module):
            top = target.split(".")[0]
            if inside and top != "video2stylegan" and top not in LAZY_THIRD_PARTY:
                odd.append(f"{MODULES[module].relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert not odd, "function-level imports of light or standard modules (move them to the top):\n" + \
        "\n".join(sorted(odd))


def test_no_circle_between_files():
    graph = defaultdict(set)
    for module, target, _, _ in _internal_edges():
        # A package's own ``__init__`` re-exports its files; a file naming its package is no circle.
        own_init = MODULES.get(target) and MODULES[target].name == "__init__.py" and module.startswith(target + ".")
        if target in MODULES and not own_init:
            graph[module].add(target)
    # Tarjan's strongly connected components, iteratively written out as a depth-first search.
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop(); on_stack.discard(top); component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter[0]; counter[0] += 1
                stack.append(child); on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not circles, f"files that import each other in a circle: {circles}"
