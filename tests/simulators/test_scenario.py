"""Scenario files: the bundled ones are big enough, and every broken one names its file and field."""

import pytest
from hypothesis import given, strategies as st

from simulators import scenario
from simulators.scenario import ScenarioError
from simulators.site import build_site


def test_bundled_scenarios_have_the_promised_size():
    assert {"tianjin-demo", "large"} <= set(scenario.bundled_names())
    demo = build_site(scenario.load("tianjin-demo"), 1)
    large = build_site(scenario.load("large"), 1)
    assert demo.count >= 300 and large.count >= 10_000
    for site in (demo, large):
        ids = [m.device for m in site.metas]
        assert len(ids) == len(set(ids))
        assert sum(m.kind == "grid_connection" for m in site.metas) == 2  # the town's and the building's


def test_defaults_equal_the_bundled_demo_file():
    """The demo file documents every default; the two must not drift apart."""
    bundled = scenario.load("tianjin-demo")
    assert scenario.from_dict({}) == scenario.Scenario(
        bundled.site, bundled.climate, bundled.town, bundled.building, "<dict>"
    )


@pytest.mark.parametrize(
    "text, where",
    [
        ("[town]\nhouseholds = 'many'\n", r"\[town\].households must be an integer"),
        ("[town]\nhouseholds = -1\n", r"\[town\].households must be between 0"),
        ("[town]\nhouseholdz = 3\n", r"unknown field \[town\].householdz"),
        ("[towns]\n", r"unknown section \[towns\]"),
        ("[building]\nroof_pv_kwp = true\n", r"\[building\].roof_pv_kwp must be a number"),
        ("[scenario]\nsite = 'Bin Hai'\n", r"\[scenario\].site"),
        ("[town]\nhouseholds = 3\nrooftop_pv = 5\n", "rooftop_pv"),
        ("[climate]\nlatitude_deg = 123.0\n", "latitude_deg"),
        ("town = 3\n", r"\[town\] must be a table"),
        ("[town\n", "not valid TOML"),
    ],
)
def test_invalid_files_name_the_file_and_the_field(tmp_path, text, where):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=where) as info:
        scenario.load(str(path))
    assert str(path) in str(info.value)


def test_unknown_name_lists_the_bundled_ones():
    with pytest.raises(ScenarioError, match="tianjin-demo"):
        scenario.load("atlantis")
    with pytest.raises(ScenarioError, match="does not exist"):
        scenario.load("/no/such/file.toml")


toml_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.text(max_size=8), st.booleans())


@given(
    st.dictionaries(
        st.sampled_from(["scenario", "climate", "town", "building", "extra"]),
        st.dictionaries(st.sampled_from(["households", "feeders", "site", "id", "roof_pv_kwp", "latitude_deg", "x"]),
                        toml_scalars, max_size=4),
        max_size=4,
    )
)
def test_any_scenario_table_loads_or_fails_with_a_scenario_error(data):
    try:
        loaded = scenario.from_dict(data, "fuzz.toml")
    except ScenarioError as exc:
        assert "fuzz.toml" in str(exc)
        return
    assert loaded.town.feeders >= 1


def test_a_scenario_file_with_the_old_wind_speed_key_still_loads():
    from simulators.scenario import from_dict

    old = from_dict({"climate": {"mean_wind_speed_10m_ms": 6.5}})
    assert old.climate.mean_wind_speed_10m_mps == 6.5
