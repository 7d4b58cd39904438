import pytest

from expo import config
from expo.errors import UserError


def test_flag_beats_environment_beats_file_beats_default(tmp_path):
    f = tmp_path / "expo.toml"
    f.write_text('broker = "mqtt://file:1883"\nseed = 5\nscenario = "large"\n')
    env = {"EXPO_BROKER": "mqtt://env:1883", "EXPO_SEED": "7"}
    cfg = config.load({"broker": "mqtt://flag:1883"}, env, f)
    assert cfg.broker == "mqtt://flag:1883" and cfg.origins["broker"] == "flag --broker"
    assert cfg.seed == 7 and cfg.origins["seed"] == "environment EXPO_SEED"
    assert cfg.scenario == "large" and cfg.origins["scenario"].startswith("file")
    assert cfg.publish_queue == config.SETTINGS["publish_queue"].default


def test_unknown_keys_and_bad_values_are_errors_not_silence(tmp_path):
    f = tmp_path / "expo.toml"
    f.write_text('brokr = "mqtt://x"\n')
    with pytest.raises(UserError, match="unknown setting 'brokr'"):
        config.load({}, {}, f)
    with pytest.raises(UserError, match="seed from environment EXPO_SEED must be an integer"):
        config.load({}, {"EXPO_SEED": "many"}, None)
    f.write_text("seed = [")
    with pytest.raises(UserError, match="expo.toml"):
        config.load({}, {}, f)
    with pytest.raises(UserError, match="does not exist"):
        config.load({}, {}, tmp_path / "missing.toml")


def test_credentials_from_settings_override_the_address_and_fill_what_it_lacks():
    cfg = config.load({"broker": "mqtts://sim:old@broker.local"}, {"EXPO_MQTT_PASSWORD": "new"}, None)
    b = config.broker_address(cfg)
    assert (b.username, b.password, b.tls, b.port) == ("sim", "new", True, 8883)
    cfg = config.load({"broker": "mqtt://broker.local", "mqtt_username": "ingest"}, {}, None)
    assert config.broker_address(cfg).username == "ingest"


def test_yes_no_and_number_settings_from_each_source(tmp_path):
    from expo.config import load
    from expo.errors import UserError

    cfg = load({}, environ={"EXPO_KIOSK": "yes", "EXPO_ROTATE_S": "7.5"})
    assert cfg.kiosk is True and cfg.rotate_s == 7.5
    path = tmp_path / "energy-expo.toml"
    path.write_text("kiosk = false\nrotate_s = 12\nalternate_languages = true\n")
    cfg = load({}, environ={}, path=path)
    assert cfg.kiosk is False and cfg.rotate_s == 12.0 and cfg.alternate_languages is True
    for env in ({"EXPO_KIOSK": "maybe"}, {"EXPO_ROTATE_S": "nan"}, {"EXPO_ROTATE_S": "fast"}):
        try:
            load({}, environ=env)
        except UserError as exc:
            assert next(iter(env)) in str(exc)
        else:
            raise AssertionError(f"{env} was accepted")


def test_a_secret_can_come_from_a_file_named_in_the_environment(tmp_path):
    from expo.config import load
    from expo.errors import UserError

    token = tmp_path / "ingest.token"
    token.write_text("t0ken-from-a-secret\n")
    cfg = load({}, environ={"EXPO_INFLUX_TOKEN_FILE": str(token)})
    assert cfg.influx_token == "t0ken-from-a-secret"
    assert cfg.origins["influx_token"] == "environment EXPO_INFLUX_TOKEN_FILE"
    assert load({}, environ={"EXPO_INFLUX_TOKEN_FILE": str(token), "EXPO_INFLUX_TOKEN": "direct"}).influx_token == "direct"
    try:
        load({}, environ={"EXPO_INFLUX_TOKEN_FILE": str(tmp_path / "missing")})
    except UserError as exc:
        assert "EXPO_INFLUX_TOKEN_FILE" in str(exc) and "cannot read" in str(exc)
    else:
        raise AssertionError("a missing secret file was accepted")


from hypothesis import given, strategies as st  # noqa: E402

toml_values = st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
                        st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


@given(st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(["broker", "seed", "store", "kiosk", "rotate_s", "routes", "default_routes",
                                     "spool_max_mb", "timezone", "unknown_key"]), toml_values, max_size=6)
    .map(lambda d: "\n".join(f"{k} = {__import__('json').dumps(v)}" for k, v in d.items()).encode()),
))
def test_any_config_file_loads_or_says_what_is_wrong(tmp_path_factory, content):
    """Whatever is in the file: a Config, or one UserError naming the problem; never another exception."""
    from expo.config import load
    from expo.errors import UserError

    path = tmp_path_factory.mktemp("cfg") / "energy-expo.toml"
    path.write_bytes(content)
    try:
        cfg = load({}, environ={}, path=path)
    except UserError as exc:
        assert str(exc).startswith(f"config file {path}") or "from file" in str(exc)
    else:
        assert cfg.file == str(path)


def test_store_backends_bring_their_own_settings_with_the_spellings_users_have():
    assert config.STORE_CREDENTIALS == ("influx_token", "influx_username", "influx_password", "influx_ca_file")
    names = list(config.SETTINGS)
    after_store = names[names.index("store") + 1:][:len(config.STORE_CREDENTIALS)]
    assert after_store == list(config.STORE_CREDENTIALS)  # listed with the store they belong to
    token = config.SETTINGS["influx_token"]
    assert (token.flag, token.env) == ("--influx-token", "EXPO_INFLUX_TOKEN")
    cfg = config.load({"influx_username": "ingest"}, {"EXPO_INFLUX_PASSWORD": "pw"}, None)
    assert config.store_options(cfg) == {"influx_token": None, "influx_username": "ingest", "influx_password": "pw",
                                         "influx_ca_file": None}
    assert "sqlite:///" in config.SETTINGS["store"].help and "influxdb://" in config.SETTINGS["store"].help


def test_every_command_that_talks_to_the_broker_or_a_store_takes_the_whole_credential_group():
    from energy_expo.cli import build_parser

    parser = build_parser()
    store_flags = [config.SETTINGS[n].flag for n in config.STORE_CREDENTIALS]
    mqtt_flags = [config.SETTINGS[n].flag for n in config.MQTT_CREDENTIALS]
    for command, flags in (("check", mqtt_flags + store_flags), ("ingest", mqtt_flags + store_flags),
                           ("up", mqtt_flags + store_flags), ("dashboard", store_flags), ("backfill", store_flags)):
        args = parser.parse_args([command, *(part for flag in flags for part in (flag, "x"))])
        assert all(getattr(args, flag[2:].replace("-", "_")) == "x" for flag in flags), command
