/**
 * Node-RED settings for the benchmark baseline (bench/ingest_burst.py starts Node-RED with
 * `--settings` this file, `--userDir` a temporary folder and `--port` a free loopback port).
 * Loopback only, no editor, no telemetry, no palette installs: it runs the one flow and nothing else.
 */
module.exports = {
    uiHost: "127.0.0.1",
    flowFile: "flows.json",
    credentialSecret: false,
    disableEditor: true,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    functionExternalModules: false,
    logging: { console: { level: "info", metrics: false, audit: false } },
};
