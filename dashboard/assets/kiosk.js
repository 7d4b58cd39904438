/* The kiosk's browser side: rotation, language, clock, freshness badge and the lost-connection banner.
 *
 * These run in the browser so they keep working while the server is away: a
 * kiosk that lost its server must say so itself, not freeze on the last frame.
 * A touch or click anywhere pauses the rotation for config.idle_ms.
 *
 * Screens in one hall stay in step: the show's place is a function of the
 * server's clock (each answer carries it; the page keeps its offset), slot
 * floor(t / rotate_ms) of the rotation, so every page on one server shows the
 * same scene at the same moment, whenever it was opened or reloaded, and a
 * touch kiosk left alone rejoins the show where it is now, not where it left
 * it. A screen's role is in its address: ?role=wall rotates and ignores
 * touches, ?role=touch rotates and lets a visitor drive (as ?kiosk=1).
 *
 * window.expoKiosk is this state: its clock (ms, replaceable, as the server's
 * model takes an injected clock, so a test moves time on instead of waiting;
 * with serverClock false the page's own clock is the show's) and counters a test
 * or an engineer can read (clock ticks seen, automatic rotations, answers from
 * the server).
 */
(function () {
  var state = { lastSwitch: Date.now(), pausedUntil: 0, lastBeatAt: Date.now(), lastSent: null, cfg: null,
                ticks: 0, rotations: 0, answers: 0, offset: 0, serverClock: true, slot: null, shown: {} };
  state.clock = function () { return Date.now(); };
  state.showTime = function () { return state.clock() + (state.serverClock ? state.offset : 0); };
  window.expoKiosk = state;

  function role() { return new URLSearchParams(location.search).get('role'); }

  ['pointerdown', 'keydown', 'wheel'].forEach(function (name) {
    document.addEventListener(name, function () {
      if (role() === 'wall') { return; }  // a wall is watched, not touched: its show never pauses
      if (state.cfg) { state.pausedUntil = state.clock() + state.cfg.idle_ms; }
      document.body.classList.add('touched');
    }, { passive: true });
  });

  function kioskWanted(cfg, search) {
    var params = new URLSearchParams(search || '');
    if (params.get('role') === 'wall' || params.get('role') === 'touch') { return true; }
    if (params.has('kiosk')) { return params.get('kiosk') !== '0'; }
    return cfg.kiosk;
  }

  // Where the show is at ``t`` (the server's ms): the scene, and the language when the kiosk alternates
  // (each round of the rotation in one language, the next in the other, so every scene is seen in both).
  state.scheduled = function (t, order, cfg) {
    var slot = Math.floor(t / cfg.rotate_ms), n = order.length;
    var other = cfg.language === 'zh' ? 'en' : 'zh';
    return { slot: slot, scene: order[((slot % n) + n) % n],
             lang: Math.floor(slot / n) % 2 === 0 ? cfg.language : other };
  };

  // The rotation: ?rotation=zeb,city,bigdata (scene ids) or the app's order (config.scenes).
  function rotationOrder(cfg, search) {
    var asked = (new URLSearchParams(search || '').get('rotation') || '').split(',').filter(function (id) {
      return cfg.scenes.indexOf(id) >= 0;
    });
    return asked.length ? asked : cfg.scenes;
  }

  // The page is one design canvas (#root: --page-w x --page-h, 1080x1920 on a portrait screen, in expo.css) scaled
  // uniformly to the window, contain. Set on the document's root element, so it holds from the first frame, before
  // Dash has drawn #root, and a window resized (or a screen turned) rescales at once.
  // The page also orbits: every ORBIT_MS it moves one step around a small square (ORBIT_PX at 1080p, a slow
  // 2 s glide), so no still word or edge (the title, a frame) stands on the same pixels all day and burns in. The
  // fit leaves that margin on every side, so the page never leaves the screen. The step is the show's clock's
  // (all screens in step; a test moves the clock instead of waiting).
  var ORBIT_MS = 60000, ORBIT_PX = 4, ORBIT = [[0, 0], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1]];
  var placed = '';
  var page = null;  // the canvas's size, read from the CSS when the window changes, not on every tick
  function fitPage(event) {
    if (event || !page) {
      var style = getComputedStyle(document.documentElement);
      page = [parseFloat(style.getPropertyValue('--page-w')), parseFloat(style.getPropertyValue('--page-h'))];
    }
    var w = page[0], h = page[1];
    if (!w || !h) { page = null; return; }
    var px = ORBIT_PX * Math.min(window.innerWidth, window.innerHeight) / 1080;  // the orbit's step on this screen
    var k = Math.min((window.innerWidth - 2 * px) / w, (window.innerHeight - 2 * px) / h);
    var step = ORBIT[((Math.floor(state.showTime() / ORBIT_MS) % 8) + 8) % 8];
    var set = [k.toFixed(4), (step[0] * px).toFixed(1) + 'px', (step[1] * px).toFixed(1) + 'px'];
    if (set.join() === placed) { return; }  // a style written again, unchanged, would still be a recalculation
    placed = set.join();
    ['--page-fit', '--orbit-x', '--orbit-y'].forEach(function (name, i) {
      document.documentElement.style.setProperty(name, set[i]);
    });
  }
  state.fitPage = fitPage;
  fitPage();
  window.addEventListener('resize', fitPage);

  // A fixed design canvas within a scene (class "fit", its size in the CSS variables --design-w/--design-h) scaled uniformly
  // to its parent, contain: every screen shows the same composition. One observer per canvas, made once.
  var fitted = new WeakSet();
  function fit(el) {
    var style = getComputedStyle(el), parent = el.parentElement;
    var w = parseFloat(style.getPropertyValue('--design-w')), h = parseFloat(style.getPropertyValue('--design-h'));
    if (!parent || !w || !h || !parent.clientWidth || !parent.clientHeight) { return; }
    el.style.setProperty('--fit', Math.min(parent.clientWidth / w, parent.clientHeight / h).toFixed(4));
  }
  function watchCanvases() {
    document.querySelectorAll('.fit').forEach(function (el) {
      if (fitted.has(el) || !el.parentElement) { return; }
      fitted.add(el);
      new ResizeObserver(function () { fit(el); }).observe(el.parentElement);
      fit(el);
    });
  }
  window.addEventListener('resize', function () { document.querySelectorAll('.fit').forEach(fit); });

  // The scenes' motion, stepped by one timer (STEP_MS, 12 steps a second) that runs only while a scene with motion
  // is shown: not CSS animations, which a browser draws 60 times a second. In a kiosk's software rendering the
  // building's moving dots took about 25 % of a core as CSS animations and the town's lines 40 % at every frame,
  // measured; at 12 steps the dots and dashes still glide (1-2 px a step). A step sets one custom property on
  // each moving part, which its CSS turns into a transform (no layout, no repaint of anything else):
  // - the building's wires and the big-data map's flow lines: --p, where each one's dots or dashes are in their
  //   period (0-1), from the clock and the part's own --dur (seconds a period) and --dir (reverse: the other way);
  // - the building's sun: --turn, its rays' angle (a turn in SUN_TURN_S);
  // - the town's feeder lines: --trunk-offset on the lines' own layer (plotly redraws its shapes every tick, which
  //   would restart an animation; the offset from the clock never does), one dash period (_wiring.TRUNK_DASH,
  //   24 px) every 1.2 s along each line's own direction, which the server draws the way its power goes;
  // - the town's wind turbine rotors (the plan's layout images): turned as fast as #city-rotor says (turns a
  //   minute, from their live power), each step from where they were, so a new speed never makes them jump.
  var STEP_MS = 80, SUN_TURN_S = 90, MOVING = ['scene-city', 'scene-zeb', 'scene-bigdata'];
  var rotor = { angle: 0, at: null }, stepTimer = null;
  function movingScene() {
    var root = document.getElementById('root');
    var cls = root ? root.className : '';
    return MOVING.some(function (name) { return cls.indexOf(name) >= 0; }) ? cls : null;
  }
  function period(el, t) {  // where in its period a part's motion is at t (s)
    var f = (t / (parseFloat(el.style.getPropertyValue('--dur')) || 2)) % 1;
    return (el.style.getPropertyValue('--dir') === 'reverse' ? 1 - f : f).toFixed(3);
  }
  function step() {
    var cls = movingScene();
    if (!cls) { stepTimer = null; rotor.at = null; return; }
    stepTimer = setTimeout(step, STEP_MS);
    var t = performance.now();
    document.querySelectorAll('.scene.active .zb-wires .on i, .scene.active .bd-flows > div').forEach(function (el) {
      el.style.setProperty('--p', period(el, t / 1000));
    });
    var sun = document.querySelector('.scene.active .zb-sky.day .zb-sun');
    if (sun) { sun.style.setProperty('--turn', ((t / 1000 / SUN_TURN_S * 360) % 360).toFixed(1) + 'deg'); }
    if (cls.indexOf('scene-city') < 0) { rotor.at = null; return; }
    document.querySelectorAll('#city-graph .shapelayer').forEach(function (layer) {
      layer.style.setProperty('--trunk-offset', (-(t % 1200) / 50).toFixed(1) + 'px');
    });
    var rpm = parseFloat((document.getElementById('city-rotor') || {}).textContent) || 0;
    rotor.angle = (rotor.angle + (rotor.at === null ? 0 : (t - rotor.at) * rpm * 0.006)) % 360;
    rotor.at = t;
    document.querySelectorAll('#city-graph .imagelayer image').forEach(function (img) {
      img.style.transform = 'rotate(' + rotor.angle.toFixed(1) + 'deg)';
    });
  }
  function startMotion() {  // when a scene comes on screen (after Dash has set #root's class), and once a second
    if (stepTimer === null && movingScene()) { stepTimer = setTimeout(step, 0); }
  }
  state.motionRunning = function () { return stepTimer !== null; };

  // Dash keeps each change of an input that no callback made (every tick of an Interval) as undo history: an array
  // that grows by two or three entries a second and is copied whole at each, so a kiosk's page would hold some
  // 200,000 of them after a day and copy them all on every tick, slower and larger until it fails (as Grafana's
  // kiosk tabs do). This page has no undo: once a second the history is cut back to its newest HISTORY_KEEP.
  var HISTORY_KEEP = 20, HISTORY_MAX = 200;
  function trimHistory() {
    var store = window.store, history = store && store.getState && store.getState().history;
    if (history && history.past && history.past.length > HISTORY_MAX) {
      history.past.splice(0, history.past.length - HISTORY_KEEP);
    }
  }

  function fill(template, fields) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return fields[k] === undefined ? '' : fields[k]; });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    expo: {
      rotate: function (_n, _navClicks, _langClicks, scene, lang, cfg, search) {
        state.cfg = cfg;
        var now = state.clock();
        var ctx = window.dash_clientside.callback_context;
        var trigger = ctx && ctx.triggered && ctx.triggered.length ? ctx.triggered[0].prop_id : '';
        if (trigger.indexOf('clock.') === 0) { state.ticks += 1; }
        var nextScene = scene, nextLang = lang;
        if (!state.started) {  // first call: ?lang=en and ?scene=flow choose where the page opens
          state.started = true;
          var params = new URLSearchParams(search || '');
          if (params.get('lang') === 'en' || params.get('lang') === 'zh') { nextLang = params.get('lang'); }
          if (cfg.scenes.indexOf(params.get('scene')) >= 0) { nextScene = params.get('scene'); }
        } else if (trigger.indexOf('lang-toggle') === 0) {
          nextLang = lang === 'zh' ? 'en' : 'zh';
        } else if (trigger.indexOf('"type":"nav"') >= 0) {
          nextScene = JSON.parse(trigger.split('.')[0]).id;
          state.pausedUntil = now + cfg.idle_ms;
          state.lastSwitch = now;
        } else if (kioskWanted(cfg, search) && now >= state.pausedUntil) {
          var at = state.scheduled(state.showTime(), rotationOrder(cfg, search), cfg);
          if (at.slot !== state.slot) {  // the show moved on, or this page (re)joins it
            state.slot = at.slot;
            if (at.scene !== scene) { state.rotations += 1; }
            nextScene = at.scene;
            state.lastSwitch = now;
            if (cfg.alternate) { nextLang = at.lang; }
          }
        } else {
          state.slot = null;  // paused or not a kiosk: rejoin the show's present when it resumes
        }
        document.body.classList.toggle('paused', now < state.pausedUntil);
        if (nextScene === scene && nextLang === lang) {
          return [window.dash_clientside.no_update, window.dash_clientside.no_update];
        }
        return [nextScene, nextLang];
      },

      show: function (scene, lang, cfg) {
        state.shown[scene] = (state.shown[scene] || 0) + 1;  // how often each scene came on screen (for tests)
        var sections = cfg.scenes.map(function (id) { return id === scene ? 'scene active' : 'scene'; });
        var dots = cfg.scenes.map(function (id) { return id === scene ? 'nav-dot active' : 'nav-dot'; });
        // plotly sizes a graph when it becomes visible; tell it the window may have changed
        setTimeout(function () { watchCanvases(); window.dispatchEvent(new Event('resize')); }, 50);
        setTimeout(startMotion, 100);
        document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
        return [sections, dots, 'lang-' + lang + ' scene-' + scene + (role() ? ' role-' + role() : '')];
      },

      // The town plan back at the home town (bigdata-focus cleared): by its back button, when the scene changes,
      // or when a visitor who tapped a district has left the screen alone for config.idle_ms.
      home: function (_n, scene, _back, focus, cfg) {
        var no = window.dash_clientside.no_update;
        var now = state.clock();
        var ctx = window.dash_clientside.callback_context;
        var trigger = ctx && ctx.triggered && ctx.triggered.length ? ctx.triggered[0].prop_id : '';
        if (focus !== state.focus) { state.focus = focus; state.focusSince = now; }
        if (!focus) { return no; }
        if (trigger.indexOf('city-back') === 0 || scene !== 'city' ||
            now >= Math.max(state.pausedUntil, state.focusSince + cfg.idle_ms)) {
          state.focus = null;
          return null;
        }
        return no;
      },

      watch: function (_n, beat, lang, cfg) {
        var now = state.clock();
        var t = cfg.text;
        fitPage();  // the orbit's step, once a second
        watchCanvases();  // a canvas drawn since the last tick gets its observer (once)
        startMotion();  // should the scene's class have come after its first look
        trimHistory();
        if (beat && beat.sent_s !== state.lastSent) {  // a new answer from the server
          state.lastSent = beat.sent_s;
          state.lastBeatAt = now;
          state.answers += 1;
          state.offset = beat.sent_s * 1000 - now;  // the server's clock: the show every screen follows
        }
        var serverLost = now - state.lastBeatAt > 6000;
        var badge, cls;
        if (!beat || beat.newest_s === null) {
          badge = t['badge.none'][lang]; cls = 'badge badge-none';
        } else {
          var age = (beat.server_s - beat.newest_s) + (now - state.lastBeatAt) / 1000;
          if (beat.freshness === 'replay' && !serverLost) {
            badge = fill(t['badge.replay'][lang], { speed: beat.replay_speed, time: beat.newest_local });
            cls = 'badge badge-replay';
          } else if (age <= beat.live_s && !serverLost) {
            badge = t['badge.live'][lang]; cls = 'badge badge-live';
          } else {
            badge = fill(t['badge.delayed'][lang], { time: beat.newest_local }); cls = 'badge badge-delayed';
          }
        }
        var banner = 'banner';
        if (serverLost) { banner += ' show server'; } else if (beat && !beat.store_ok) { banner += ' show store'; }
        var clock = '';
        try {
          clock = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
            timeZone: cfg.timezone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
          }).format(new Date(now));
        } catch (e) { clock = new Date(now).toLocaleTimeString(); }
        return [badge, cls, banner, clock];
      },
    },
  });
})();
