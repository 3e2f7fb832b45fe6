/* CX Pulse wall screen (dashboard/pages/wall.py): pacing, rotation and the offline warning run
   here on a plain timer, so they cost neither the server nor Dash's renderer anything until
   there is something to do, and keep working while the server is away. */
(function () {
  var state = null; /* per open wall page: {root, o, sentAt, answered, offline} */

  function viewIndex(o, now) {
    if (!(o.rotate_ms > 0) || o.views.length < 2) { return 0; }
    return Math.floor((now - performance.timeOrigin) / o.rotate_ms) % o.views.length;
  }

  function untilNext(o, now) {
    return o.rotate_ms - ((now - performance.timeOrigin) % o.rotate_ms);
  }

  function attach() {
    var root = document.getElementById('wall-root');
    if (!root || !root.dataset.options) {
      state = null;
      delete document.documentElement.dataset.wallView;
      return null;
    }
    if (!state || state.root !== root) {
      state = {root: root, o: JSON.parse(root.dataset.options), sentAt: null, answered: null,
               offline: false};
    }
    return state;
  }

  /* Ask for a refresh every refresh_ms, for the view on screen (and the next one shortly
     before its turn, so it is fresh when it appears). Never while one is in flight: the
     server echoes `at` back in wall-answered; an answer missing for timeout_ms is taken as
     lost (the server restarted mid-request) and asked again. */
  function pace(s, now) {
    var o = s.o;
    if (s.sentAt && s.sentAt !== s.answered) {
      if (now - s.sentAt < o.timeout_ms) { return; }
    } else if (now - (s.sentAt || performance.timeOrigin) < o.refresh_ms) {
      return;
    }
    var i = viewIndex(o, now);
    var views = [o.views[i]];
    if (o.rotate_ms > 0 && o.views.length > 1 && untilNext(o, now) <= 2 * o.refresh_ms + 1000) {
      views.push(o.views[(i + 1) % o.views.length]);
    }
    s.sentAt = now;
    window.dash_clientside.set_props('wall-sent', {data: {at: now, views: views}});
  }

  /* The visible view is an attribute on <html>, outside React, so rotating re-renders
     nothing; CSS fades the views. */
  function rotate(s, now) {
    var view = s.o.views[viewIndex(s.o, now)];
    if (document.documentElement.dataset.wallView !== view) {
      document.documentElement.dataset.wallView = view;
    }
  }

  /* "No connection since HH:MM" when no refresh was answered for offline_ms. */
  function watch(s, now) {
    var lastContact = s.answered || performance.timeOrigin;
    var offline = now - lastContact > s.o.offline_ms;
    if (offline === s.offline) { return; }
    s.offline = offline;
    var props = {hidden: !offline};
    if (offline) {
      props.children = s.o.offline_text.replace('{time}', new Intl.DateTimeFormat(
        s.o.language === 'nl' ? 'nl-NL' : 'en-GB',
        {hour: '2-digit', minute: '2-digit', timeZone: s.o.timezone}
      ).format(new Date(lastContact)));
    }
    window.dash_clientside.set_props('wall-offline', props);
  }

  function step() {
    var s = attach();
    var delay = 500;
    if (s && window.dash_clientside && window.dash_clientside.set_props) {
      var now = Date.now();
      rotate(s, now);
      watch(s, now);
      pace(s, now);
      delay = Math.max(20, Math.min(250, s.o.refresh_ms / 4));
    }
    setTimeout(step, delay);
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    cxpulse_wall: {
      /* An answer came (wall-answered = the `at` of the refresh it answers). */
      answered: function (at) {
        if (state) { state.answered = at; }
        return window.dash_clientside.no_update;
      }
    }
  });
  setTimeout(step, 100);
})();
