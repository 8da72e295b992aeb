/* The course inside a package: shows one page at a time, keeps the contents and the
   learner's place, tells the learning system, and hands each quiz to quiz.js and each
   scenario to scenario.js (loaded before this, after scoring.js and runtime.js). The
   pages themselves are in index.html; these only show, hide, reorder and read them.
   Plain ES2017, no build step. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("course-data").textContent);
  var runtime = window.JesipRuntime.connect(data.format);
  var startedAt = Date.now();
  var ready = false;
  var state = { v: 1, at: "contents", done: {}, quiz: {}, sc: {} };
  var items = data.items;
  var bySlug = {};
  items.forEach(function (item, index) { item.index = index; bySlug[item.slug] = item; });

  /* --- small helpers ------------------------------------------------------------------ */

  function page(slug) {
    return document.querySelector('[data-page="' + CSS.escape(slug) + '"]');
  }

  function find(scope, selector) { return scope.querySelector(selector); }

  function findAll(scope, selector) { return Array.prototype.slice.call(scope.querySelectorAll(selector)); }

  function text(node, value) { node.textContent = value; return node; }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function percentText(value) {
    return (Math.round(value * 10) / 10) + "%";
  }

  function tag(words, colour) {
    return element("strong", "govuk-tag" + (colour ? " govuk-tag--" + colour : ""), words);
  }

  function announce(message) {
    text(document.getElementById("player-announcer"), message);
  }

  function showProblem(message) {
    var box = document.getElementById("player-problem");
    text(find(box, "[data-problem-text]"), message);
    box.hidden = false;
  }

  /* --- where the learner is ------------------------------------------------------------ */

  function quizState(slug) {
    return state.quiz[slug] || (state.quiz[slug] = { n: 0, best: null, passed: false, last: null, a: null });
  }

  function runState(slug) {
    return state.sc[slug] || (state.sc[slug] = { p: null, m: {}, passed: false, fb: null });
  }

  function isDone(item) {
    if (item.kind === "module") return Boolean(state.done[item.slug]);
    if (item.kind === "quiz") return quizState(item.slug).passed;
    return runState(item.slug).passed;
  }

  function progress() {
    var quizzes = items.filter(function (item) { return item.kind === "quiz"; });
    var completed = items.every(isDone);
    var score = null, success = "unknown";
    if (quizzes.length) {
      var bests = quizzes.map(function (quiz) { return quizState(quiz.slug).best; });
      if (bests.every(function (best) { return typeof best === "number"; })) {
        score = bests.reduce(function (sum, best) { return sum + best; }, 0) / bests.length;
      }
      if (quizzes.every(function (quiz) { return quizState(quiz.slug).passed; })) success = "passed";
      else if (quizzes.some(function (quiz) { return quizState(quiz.slug).n > 0; })) success = "failed";
    } else if (completed) {
      success = "passed";
    }
    return { completed: completed, success: success, score: score, location: state.at,
             suspend: suspendData(), seconds: (Date.now() - startedAt) / 1000 };
  }

  /* The state as the learning system keeps it, within its limit: METHANE texts go first
     (the debrief then shows what each part covered without the words). */
  function suspendData() {
    var saved = JSON.stringify(state);
    if (saved.length <= data.suspendLimit) return saved;
    var lighter = JSON.parse(saved);
    Object.keys(lighter.sc).forEach(function (slug) {
      Object.keys(lighter.sc[slug].m).forEach(function (step) { delete lighter.sc[slug].m[step].t; });
    });
    saved = JSON.stringify(lighter);
    if (saved.length > data.suspendLimit) {
      showProblem("Your learning system cannot keep all of your answers in progress: finish the item you are on before you close the course.");
    }
    return saved;
  }

  function save() {
    if (!ready) return;
    try {
      runtime.report(progress());
    } catch (error) {
      showProblem("Your progress could not be saved in your learning system (" + error.message + "). Keep this window open and try again.");
    }
    renderContents();
  }

  function restore(saved) {
    if (!saved) return;
    try {
      var loaded = JSON.parse(saved);
      if (loaded && loaded.v === 1) state = loaded;
    } catch (error) {
      showProblem("Your saved place could not be read, so the course starts from the beginning.");
    }
  }

  /* --- the quiz and scenario players ---------------------------------------------------- */

  /* What they share with this script: the helpers, the views, saving and the learner's
     state of each item. Their own functions stay inside them. */
  var shared = { data: data, find: find, findAll: findAll, text: text, element: element,
                 tag: tag, percentText: percentText, announce: announce, showView: showView,
                 save: save, quizState: quizState, runState: runState };
  var quizPlayer = window.JesipQuiz.connect(shared);
  var scenarioPlayer = window.JesipScenario.connect(shared);

  /* --- pages and views ------------------------------------------------------------------ */

  function showView(section, name, step) {
    findAll(section, "[data-view]").forEach(function (view) {
      view.hidden = !(view.getAttribute("data-view") === name &&
                      (step === undefined || view.getAttribute("data-step") === step));
    });
    focusHeading(section);
  }

  var shownBefore = false;
  function focusHeading(section) {
    var heading = findAll(section, "h1").find(function (h) { return h.offsetParent !== null; });
    if (!heading) return;
    document.title = heading.textContent.trim() + " – " + data.title + " – JESIP Learn";
    /* The first page is read from the top, as any page; after that, each new page or view
       takes the focus to its heading, so a screen reader starts there. */
    if (shownBefore) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
      window.scrollTo(0, 0);
    }
    shownBefore = true;
  }

  function go(slug) {
    if (slug !== "contents" && !bySlug[slug]) slug = "contents";
    if (location.hash.slice(1) !== slug) {
      location.hash = slug; /* hashchange shows it */
    } else {
      show(slug);
    }
  }

  function show(slug) {
    if (slug !== "contents" && !bySlug[slug]) slug = "contents";
    findAll(document, "[data-page]").forEach(function (section) {
      section.hidden = section.getAttribute("data-page") !== slug;
    });
    state.at = slug;
    var section = page(slug), item = bySlug[slug];
    if (!item) {
      renderContents();
      focusHeading(section);
    } else if (item.kind === "module") {
      focusHeading(section);
    } else if (item.kind === "quiz") {
      quizPlayer.show(item, section);
    } else {
      scenarioPlayer.show(item, section);
    }
    save();
  }

  function nextItem(item) {
    var after = items.slice(item.index + 1).find(function (other) { return !isDone(other); });
    var first = items.find(function (other) { return !isDone(other); });
    go((after || first || { slug: "contents" }).slug);
  }

  function renderContents() {
    items.forEach(function (item) {
      var status = find(document, '[data-status="' + CSS.escape(item.slug) + '"]');
      status.replaceChildren(statusTag(item));
    });
    var contents = page("contents");
    var complete = items.every(isDone);
    var started = items.some(function (item) { return statusTag(item).textContent !== "Not started"; });
    find(contents, "[data-course-complete]").hidden = !complete;
    var button = find(contents, '[data-action="continue"]');
    button.hidden = complete;
    text(button, started ? "Continue the course" : "Start the course");
  }

  function statusTag(item) {
    if (item.kind === "module") {
      return state.done[item.slug] ? tag("Completed") : tag("Not started", "blue");
    }
    if (item.kind === "quiz") {
      var quiz = quizState(item.slug);
      if (quiz.passed) return tag("Passed", "green");
      if (quiz.a) return tag("In progress", "light-blue");
      return quiz.n ? tag("Not passed yet", "red") : tag("Not started", "blue");
    }
    var run = runState(item.slug);
    if (run.passed) return tag("Completed");
    return run.p ? tag("In progress", "light-blue") : tag("Not started", "blue");
  }

  /* --- wiring ------------------------------------------------------------------------------- */

  function currentItem(button) {
    return bySlug[button.closest("[data-page]").getAttribute("data-page")];
  }

  var actions = {
    "continue": function () { var first = items.find(function (item) { return !isDone(item); }); go((first || items[0]).slug); },
    "finish": function () { finish(false); },
    "next": function (item) { nextItem(item); },
    "module-done": function (item) { state.done[item.slug] = 1; announce(item.title + " marked as done."); nextItem(item); },
    "quiz-start": function (item, section) { quizPlayer.start(item, section); },
    "quiz-retry": function (item, section) { quizPlayer.start(item, section); },
    "quiz-submit": function (item, section) { quizPlayer.submit(item, section); },
    "scenario-start": function (item, section) { scenarioPlayer.start(item, section); },
    "scenario-start-again": function (item, section) { scenarioPlayer.start(item, section); },
    "scenario-choose": function (item, section, button) { scenarioPlayer.choose(item, section, button.getAttribute("data-choice")); },
    "scenario-methane": function (item, section) { scenarioPlayer.methane(item, section); },
    "scenario-continue": function (item, section) { scenarioPlayer.continueAfterFeedback(item, section); },
    "scenario-debrief": function (item, section) { scenarioPlayer.end(item, section); }
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button || !ready) return;
    var item = currentItem(button);
    actions[button.getAttribute("data-action")](item, item ? page(item.slug) : null, button);
  });

  document.addEventListener("change", function (event) {
    var section = event.target.closest('[data-kind="quiz"]');
    if (section && ready) quizPlayer.keepAnswers(bySlug[section.getAttribute("data-page")], section);
  });

  window.addEventListener("hashchange", function () { if (ready) show(location.hash.slice(1) || "contents"); });

  window.addEventListener("jesip-runtime-problem", function (event) {
    showProblem("Your learning system could not be told of your progress (" + event.detail + "). Keep this window open and try again later.");
  });

  var finished = false;
  function finish(leaving) {
    if (finished || !ready) return;
    finished = true;
    ready = leaving ? ready : false;
    var quizItem = bySlug[state.at];
    if (quizItem && quizItem.kind === "quiz") quizPlayer.keepAnswers(quizItem, page(quizItem.slug));
    runtime.finish(progress(), leaving);
    if (!leaving) {
      var contents = page("contents");
      find(contents, "[data-finish]").hidden = true;
      find(contents, '[data-action="continue"]').hidden = true;
      find(contents, "[data-finished]").hidden = false;
      announce("Your progress is saved. You can close this window.");
    }
  }

  window.addEventListener("pagehide", function () { finish(true); });

  runtime.start().then(function (saved) {
    restore(saved.suspend);
    if (saved.mastery !== null) {
      var quizzes = items.filter(function (item) { return item.kind === "quiz"; });
      if (quizzes.length === 1) {
        quizzes[0].passMark = Math.round(saved.mastery * 10000) / 100;
        text(find(page(quizzes[0].slug), "[data-pass-mark]"), percentText(quizzes[0].passMark));
      }
    }
    if (runtime.kind === "none") {
      showProblem("No learning system was found, so your progress in this course is not recorded.");
    }
    ready = true;
    var at = location.hash.slice(1) || saved.location || state.at || "contents";
    document.documentElement.setAttribute("data-player", "ready");
    go(at);
  }).catch(function (error) {
    showProblem("The course could not start in your learning system: " + error.message + ". Close this window and open the course again.");
    document.documentElement.setAttribute("data-player", "failed");
  });
})();
