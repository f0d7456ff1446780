"""Test set-up: the small models of tests/models.py are importable, and only the shipped
profiles are seen unless a test sets SPLITCOST_PROFILES itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _no_user_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPLITCOST_PROFILES", raising=False)
    # Piped output is laid out for COLUMNS when it is set: tests see it unset (unwrapped).
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profile-cache")


@pytest.fixture(autouse=True)
def _own_profile_cache(monkeypatch: pytest.MonkeyPatch, session_cache: Path) -> None:
    """The commands' profile cache is one folder per test session, never the user's."""
    monkeypatch.setenv("SPLITCOST_CACHE_DIR", str(session_cache))


# The one list of what `make check` (pytest -m "not slow") skips and CI still runs: whole files
# that start processes, train, export, measure or calibrate, and, of each long oracle sweep, every
# case but a representative few (the paper's backbones, one residual and one depthwise network).
SLOW_FILES = {"test_examples.py", "test_measure.py", "test_export.py", "test_train.py",
              "test_oracle_split_memory.py"}
SLOW_TESTS = {"test_paper", "test_tiny_real_calibration_feeds_sweep",
              "test_tiny_onnxruntime_calibration_prices_a_report",
              "test_encoder_at_1024_tokens_batch_4",
              "test_vit_attention_is_what_fvcore_misses", "test_densenet_cut_names",
              "test_vit_real_run_on_meta_paths", "test_a_whole_catalog_grid",
              "test_a_cache_hit_imports_no_torch"}
# test name -> parameter ids kept fast; every other case of that test is slow.
FAST_CASES = {
    "test_macs_and_params_match_torchvision_metadata": (
        "MobileNet_V3_Small_Weights.IMAGENET1K_V1", "EfficientNet_B0_Weights.IMAGENET1K_V1",
        "ResNet18_Weights.IMAGENET1K_V1"),
    "test_peak_activation_matches_real_allocations": ("mobilenet-1", "resnet18-1"),
    "test_macs_equal_fvcore": ("mobilenet_v3_small", "resnet18"),
    "test_payload_equals_the_real_run": ("resnet18-3",),
    "test_torchinfo_model_equals_torchinfo": ("mobilenet-32",),
    "test_halves_compose_to_the_whole": ("resnet18-layer1.0.conv1", "mobilenet-output"),
    "test_every_listed_format_parses": ("report", "devices", "cache"),
    "test_other_formats": ("markdown",),
    "test_kernels_match_onnxruntimes_optimised_graph": ("resnet18",),
    "test_a_network_traces_the_same_with_and_without_rules": ("mobilenet_v3_small",
                                                              "efficientnet_b0"),
    "test_half_precision_traces_the_same": ("mobilenet_v3_small",),
    "test_a_cached_profile_prices_exactly_like_a_fresh_one": ("mobilenet-options1",),
    "test_a_damaged_entry_is_a_miss_that_says_so": ("<lambda>-digest0",),
    "test_timm_matches_flop_counter": ("resnet18",),
    "test_transformers_matches_flop_counter": ("bert",),
}
# Bad-input rows of the commands that build a real network before they fail.
SLOW_PREFIXES = {"test_cli_bad_input": ("export ", "measure ")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        case = item.name[len(name) + 1:-1] if item.name != name else ""
        slow = (item.path.name in SLOW_FILES or name in SLOW_TESTS
                or (name in FAST_CASES and case not in FAST_CASES[name])
                or case.startswith(SLOW_PREFIXES.get(name, ("\0",))))
        if slow:
            item.add_marker(pytest.mark.slow)
