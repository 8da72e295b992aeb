/* Talking to the learning system: SCORM 1.2, SCORM 2004 (4th edition) or cmi5. Each
   adapter offers start() -> Promise of what was saved, report(progress) and
   finish(progress) -> Promise. `progress` is {completed, success ("passed", "failed" or
   "unknown"), score (0 to 100, or null), location, suspend, seconds}. Plain ES2017. */
(function (root) {
  "use strict";

  /* SCORM's discovery: the nearest window above (or the opener's) that holds the API. */
  function findApi(name) {
    function search(win) {
      for (var hops = 0; win && hops < 500; hops += 1) {
        try {
          if (win[name]) return win[name];
        } catch (error) {
          return null; /* another origin's window: the API cannot be there */
        }
        if (!win.parent || win.parent === win) break;
        win = win.parent;
      }
      return null;
    }
    return search(root) || (root.opener ? search(root.opener) : null);
  }

  function pad(number, width) {
    var text = String(number);
    while (text.length < width) text = "0" + text;
    return text;
  }

  /* SCORM 1.2's CMITimespan: HHHH:MM:SS.SS */
  function timespan12(seconds) {
    var hours = Math.floor(seconds / 3600), minutes = Math.floor(seconds / 60) % 60;
    var rest = seconds - hours * 3600 - minutes * 60;
    return pad(Math.min(hours, 9999), 4) + ":" + pad(minutes, 2) + ":" +
      pad(rest.toFixed(2), 5);
  }

  /* ISO 8601 duration, as SCORM 2004 and xAPI want it. */
  function duration(seconds) {
    var hours = Math.floor(seconds / 3600), minutes = Math.floor(seconds / 60) % 60;
    var rest = Math.round((seconds - hours * 3600 - minutes * 60) * 100) / 100;
    return "PT" + hours + "H" + minutes + "M" + rest + "S";
  }

  function rounded(score) {
    return String(Math.round(score * 100) / 100);
  }

  function scorm12(api) {
    function get(name) { return String(api.LMSGetValue(name) || ""); }
    function set(name, value) { return api.LMSSetValue(name, String(value)); }
    return {
      kind: "scorm12",
      start: function () {
        if (String(api.LMSInitialize("")) !== "true") {
          return Promise.reject(new Error("the learning system did not start the course"));
        }
        var mastery = parseFloat(get("cmi.student_data.mastery_score"));
        if (get("cmi.core.lesson_status") === "not attempted") set("cmi.core.lesson_status", "incomplete");
        return Promise.resolve({
          suspend: get("cmi.core.entry") === "resume" || get("cmi.suspend_data") ? get("cmi.suspend_data") : "",
          location: get("cmi.core.lesson_location"),
          mastery: isNaN(mastery) ? null : mastery / 100
        });
      },
      report: function (progress) {
        set("cmi.core.lesson_location", progress.location);
        set("cmi.suspend_data", progress.suspend);
        if (progress.score !== null) {
          set("cmi.core.score.min", "0");
          set("cmi.core.score.max", "100");
          set("cmi.core.score.raw", rounded(progress.score));
        }
        var status = progress.success === "failed" ? "failed"
          : progress.completed ? (progress.success === "passed" ? "passed" : "completed")
            : "incomplete";
        set("cmi.core.lesson_status", status);
        set("cmi.core.session_time", timespan12(progress.seconds));
        set("cmi.core.exit", progress.completed ? "" : "suspend");
        api.LMSCommit("");
      },
      finish: function (progress) {
        this.report(progress);
        api.LMSFinish("");
        return Promise.resolve();
      }
    };
  }

  function scorm2004(api) {
    function get(name) { return String(api.GetValue(name) || ""); }
    function set(name, value) { return api.SetValue(name, String(value)); }
    return {
      kind: "scorm2004",
      start: function () {
        if (String(api.Initialize("")) !== "true") {
          return Promise.reject(new Error("the learning system did not start the course"));
        }
        var mastery = parseFloat(get("cmi.scaled_passing_score"));
        return Promise.resolve({
          suspend: get("cmi.suspend_data"),
          location: get("cmi.location"),
          mastery: isNaN(mastery) ? null : mastery
        });
      },
      report: function (progress) {
        set("cmi.location", progress.location);
        set("cmi.suspend_data", progress.suspend);
        if (progress.score !== null) {
          set("cmi.score.min", "0");
          set("cmi.score.max", "100");
          set("cmi.score.raw", rounded(progress.score));
          set("cmi.score.scaled", String(Math.round(progress.score * 100) / 10000));
        }
        set("cmi.completion_status", progress.completed ? "completed" : "incomplete");
        set("cmi.success_status", progress.success);
        set("cmi.session_time", duration(progress.seconds));
        set("cmi.exit", progress.completed ? "normal" : "suspend");
        api.Commit("");
      },
      finish: function (progress) {
        this.report(progress);
        api.Terminate("");
        return Promise.resolve();
      }
    };
  }

  /* --- cmi5: xAPI statements to the LMS's learning record store ------------------------ */

  var VERBS = "http://adlnet.gov/expapi/verbs/";
  var CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5";
  var MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon";
  var PROGRESS_STATE = "https://w3id.org/xapi/jesip-learn/state/progress";

  function uuid() {
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.from(bytes, function (b) { return (b + 0x100).toString(16).slice(1); });
    return hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" +
      hex.slice(6, 8).join("") + "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10).join("");
  }

  function cmi5(params) {
    var endpoint = params.get("endpoint").replace(/\/?$/, "/");
    var actor = JSON.parse(params.get("actor"));
    var registration = params.get("registration");
    var activityId = params.get("activityId");
    var auth = null, launch = null, sent = {}, failedThisSession = false, terminated = false;

    function request(method, path, body, keepalive) {
      var headers = { "X-Experience-API-Version": "1.0.3", "Authorization": auth };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(endpoint + path, {
        method: method, headers: headers, keepalive: Boolean(keepalive),
        body: body === undefined ? undefined : JSON.stringify(body)
      }).then(function (response) {
        if (response.status === 404 && method === "GET") return null;
        if (!response.ok) throw new Error("the learning record store answered " + response.status);
        return response.status === 204 ? null : response.text().then(function (text) {
          return text ? JSON.parse(text) : null;
        });
      });
    }

    function stateQuery(stateId) {
      return "activities/state?" + new URLSearchParams({
        stateId: stateId, activityId: activityId, agent: JSON.stringify(actor),
        registration: registration
      }).toString();
    }

    function statement(verb, result, moveOn, keepalive) {
      var context = JSON.parse(JSON.stringify(launch.contextTemplate || {}));
      context.registration = registration;
      context.contextActivities = context.contextActivities || {};
      var category = context.contextActivities.category || [];
      category.push({ id: CMI5_CATEGORY });
      if (moveOn) category.push({ id: MOVEON_CATEGORY });
      context.contextActivities.category = category;
      var body = {
        id: uuid(), actor: actor, timestamp: new Date().toISOString(),
        verb: { id: VERBS + verb, display: { "en-US": verb } },
        object: { id: activityId, objectType: "Activity" }, context: context
      };
      if (result) body.result = result;
      return request("POST", "statements", body, keepalive);
    }

    function scaled(progress) {
      return Math.round(progress.score * 100) / 10000;
    }

    var chain = Promise.resolve();
    function queue(work) {
      chain = chain.then(work).catch(function (error) {
        root.dispatchEvent(new CustomEvent("jesip-runtime-problem", { detail: String(error) }));
      });
      return chain;
    }

    return {
      kind: "cmi5",
      start: function () {
        var fetchUrl = params.get("fetch");
        return fetch(fetchUrl, { method: "POST" }).then(function (response) {
          return response.json();
        }).then(function (answer) {
          if (!answer["auth-token"]) {
            throw new Error("the learning system refused the launch (" +
              (answer["error-text"] || answer["error-code"] || "no token") + ")");
          }
          auth = "Basic " + answer["auth-token"];
          return request("GET", stateQuery("LMS.LaunchData"));
        }).then(function (data) {
          if (!data) throw new Error("the learning system gave no launch data");
          launch = data;
          return request("GET", stateQuery(PROGRESS_STATE));
        }).then(function (saved) {
          saved = saved || {};
          sent = saved.sent || {};
          return statement("initialized").then(function () {
            return {
              suspend: saved.suspend || "", location: saved.location || "",
              mastery: typeof launch.masteryScore === "number" ? launch.masteryScore : null
            };
          });
        });
      },
      report: function (progress) {
        var normal = launch.launchMode === "Normal";
        return queue(function () {
          var work = [];
          if (normal && progress.success === "passed" && !sent.passed && progress.score !== null) {
            sent.passed = true;
            work.push(["passed", { success: true, score: { scaled: scaled(progress) },
                                   duration: duration(progress.seconds) }]);
          } else if (normal && progress.success === "failed" && !sent.passed && !failedThisSession) {
            failedThisSession = true;
            work.push(["failed", { success: false,
                                   score: { scaled: progress.score === null ? 0 : scaled(progress) },
                                   duration: duration(progress.seconds) }]);
          }
          if (normal && progress.completed && !sent.completed) {
            sent.completed = true;
            work.push(["completed", { completion: true, duration: duration(progress.seconds) }]);
          }
          var saving = request("PUT", stateQuery(PROGRESS_STATE),
                               { suspend: progress.suspend, location: progress.location, sent: sent });
          return work.reduce(function (done, next) {
            return done.then(function () { return statement(next[0], next[1], true); });
          }, saving);
        });
      },
      finish: function (progress, leaving) {
        if (terminated) return chain;
        terminated = true;
        this.report(progress);
        return queue(function () {
          return statement("terminated", { duration: duration(progress.seconds) }, false, leaving);
        }).then(function () {
          if (launch && launch.returnURL && !leaving) root.location.assign(launch.returnURL);
        });
      }
    };
  }

  /* No learning system: the course plays, and nothing is recorded. */
  function standalone() {
    return {
      kind: "none",
      start: function () { return Promise.resolve({ suspend: "", location: "", mastery: null }); },
      report: function () {},
      finish: function () { return Promise.resolve(); }
    };
  }

  function connect(format) {
    if (format === "cmi5") {
      var params = new URLSearchParams(root.location.search);
      var needed = ["endpoint", "fetch", "actor", "registration", "activityId"];
      if (needed.every(function (name) { return params.get(name); })) return cmi5(params);
      return standalone();
    }
    var api = format === "scorm12" ? findApi("API") : findApi("API_1484_11");
    if (!api) return standalone();
    return format === "scorm12" ? scorm12(api) : scorm2004(api);
  }

  root.JesipRuntime = { connect: connect, duration: duration, timespan12: timespan12 };
})(window);
