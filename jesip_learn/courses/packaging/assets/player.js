/* The course inside a package: shows one page at a time, draws and marks the quiz,
   walks the scenarios, keeps the learner's place and tells the learning system. The
   pages themselves are in index.html; this only shows, hides, reorders and reads them.
   Plain ES2017, no build step. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("course-data").textContent);
  var scoring = window.JesipScoring;
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

  function shuffle(list) {
    for (var i = list.length - 1; i > 0; i -= 1) {
      var j = Math.floor(Math.random() * (i + 1)), kept = list[i];
      list[i] = list[j];
      list[j] = kept;
    }
    return list;
  }

  function range(count) {
    return Array.from({ length: count }, function (_, index) { return index; });
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
      showQuiz(item, section);
    } else {
      showScenario(item, section);
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

  /* --- quizzes --------------------------------------------------------------------------- */

  function attemptsLeft(item) {
    return item.maxAttempts === null ? Infinity : item.maxAttempts - quizState(item.slug).n;
  }

  function showQuiz(item, section) {
    var quiz = quizState(item.slug);
    if (quiz.a) return showAttempt(item, section);
    var last = find(section, "[data-last-result]");
    last.replaceChildren();
    if (quiz.n) {
      var summary = element("p", "govuk-body");
      summary.append("Your best score so far is " + percentText(quiz.best) + ": ",
                     quiz.passed ? tag("Passed", "green") : tag("Not passed", "red"));
      last.append(summary);
    }
    var start = find(section, '[data-action="quiz-start"]');
    var left = attemptsLeft(item);
    start.hidden = left <= 0;
    text(start, quiz.n ? "Try the quiz again" : "Start the quiz");
    text(find(section, "[data-attempts]"), item.maxAttempts === null ? "As many as you need"
      : item.maxAttempts + " in all; " + Math.max(0, left) + " left");
    if (left <= 0) last.append(element("p", "govuk-body", "You have used every attempt at this quiz."));
    showView(section, "overview");
  }

  function startAttempt(item, section) {
    var quiz = quizState(item.slug);
    if (attemptsLeft(item) <= 0) return showQuiz(item, section);
    var drawn = shuffle(range(item.questions.length)).slice(0, item.draw);
    quiz.a = {
      q: drawn,
      o: drawn.map(function (index) {
        var question = item.questions[index], order = shuffle(range(question.options.length));
        if (question.kind === "ordering" && order.length > 1) {
          while (order.every(function (value, place) { return value === place; })) shuffle(order);
        }
        return order;
      }),
      ans: drawn.map(function () { return null; })
    };
    showAttempt(item, section);
    save();
  }

  function questionNodes(item, section) {
    return item.questions.map(function (question) {
      return find(section, '[data-question="' + CSS.escape(question.id) + '"]');
    });
  }

  function showAttempt(item, section) {
    var attempt = quizState(item.slug).a, nodes = questionNodes(item, section);
    var holder = find(section, "[data-questions]");
    find(section, '[data-view="attempt"]').insertBefore(holder, find(section, '[data-action="quiz-submit"]'));
    nodes.forEach(function (node) { node.hidden = true; });
    attempt.q.forEach(function (index, place) {
      var node = nodes[index], question = item.questions[index];
      holder.append(node);
      node.hidden = false;
      text(find(node, "[data-question-number]"), "Question " + (place + 1) + " of " + attempt.q.length);
      find(node, "[data-explanation]").hidden = true;
      clearError(node);
      var options = find(node, "[data-options]");
      attempt.o[place].forEach(function (optionIndex) {
        options.append(find(options, '[data-option="' + CSS.escape(question.options[optionIndex]) + '"]'));
      });
      findAll(node, "input, select").forEach(function (input) { input.disabled = false; });
      writeAnswer(question, node, attempt.ans[place]);
    });
    find(section, "[data-error-summary]").hidden = true;
    showView(section, "attempt");
  }

  /* A saved answer: option indexes chosen (choice questions), or the place given to each
     option in written order (ordering questions; "" where none is chosen yet). */
  function writeAnswer(question, node, saved) {
    if (question.kind === "ordering") {
      question.options.forEach(function (optionId, index) {
        find(node, '[data-option="' + CSS.escape(optionId) + '"] select').value = saved ? String(saved[index] || "") : "";
      });
    } else {
      question.options.forEach(function (optionId, index) {
        find(node, 'input[value="' + CSS.escape(optionId) + '"]').checked = Boolean(saved && saved.indexOf(index) !== -1);
      });
    }
  }

  function readSaved(question, node) {
    if (question.kind === "ordering") {
      return question.options.map(function (optionId) {
        var value = find(node, '[data-option="' + CSS.escape(optionId) + '"] select').value;
        return value ? Number(value) : "";
      });
    }
    return question.options.map(function (optionId, index) {
      return find(node, 'input[value="' + CSS.escape(optionId) + '"]').checked ? index : -1;
    }).filter(function (index) { return index !== -1; });
  }

  /* The answer as scoring.js marks it: option ids, in the learner's order for ordering. */
  function answerIds(question, saved) {
    if (!saved) return [];
    if (question.kind !== "ordering") {
      return saved.map(function (index) { return question.options[index]; });
    }
    var places = saved.slice().filter(function (place) { return place !== ""; }).sort(function (a, b) { return a - b; });
    var everyPlace = places.length === question.options.length &&
      places.every(function (place, index) { return place === index + 1; });
    if (!everyPlace) return [];
    return question.options.slice().sort(function (a, b) {
      return saved[question.options.indexOf(a)] - saved[question.options.indexOf(b)];
    });
  }

  function problemWith(question) {
    if (question.kind === "ordering") return "Give each item a different position, from 1 to " + question.options.length;
    if (question.kind === "multiple") return "Select all the answers that apply";
    return "Select an answer";
  }

  function clearError(node) {
    node.classList.remove("govuk-form-group--error");
    find(node, "[data-error]").hidden = true;
  }

  function keepAnswers(item, section) {
    var attempt = quizState(item.slug).a;
    if (!attempt) return;
    var nodes = questionNodes(item, section);
    attempt.q.forEach(function (index, place) {
      attempt.ans[place] = readSaved(item.questions[index], nodes[index]);
    });
  }

  function submitAttempt(item, section) {
    var quiz = quizState(item.slug), attempt = quiz.a;
    if (!attempt) return showQuiz(item, section);
    keepAnswers(item, section);
    var nodes = questionNodes(item, section), drawn = [], answers = {}, problems = [];
    attempt.q.forEach(function (index, place) {
      var question = item.questions[index], node = nodes[index];
      var answer = answerIds(question, attempt.ans[place]);
      drawn.push(question);
      answers[question.id] = answer;
      clearError(node);
      if (!scoring.isComplete(question, answer)) {
        var message = problemWith(question);
        node.classList.add("govuk-form-group--error");
        text(find(node, "[data-error-text]"), message);
        find(node, "[data-error]").hidden = false;
        problems.push({ text: "Question " + (place + 1) + ": " + message, target: find(node, "input, select") });
      }
    });
    var summary = find(section, "[data-error-summary]");
    if (problems.length) {
      var list = find(summary, "[data-error-list]");
      list.replaceChildren();
      problems.forEach(function (problem) {
        var link = element("a", "", problem.text);
        link.href = "#" + problem.target.id;
        link.addEventListener("click", function (event) {
          event.preventDefault();
          problem.target.focus();
        });
        var entry = element("li");
        entry.append(link);
        list.append(entry);
      });
      summary.hidden = false;
      summary.setAttribute("tabindex", "-1");
      summary.focus();
      save();
      return;
    }
    var result = scoring.scoreQuiz(drawn, answers, item.passMark);
    quiz.n += 1;
    quiz.best = quiz.best === null ? result.percent : Math.max(quiz.best, result.percent);
    quiz.passed = quiz.passed || result.passed;
    quiz.last = { c: result.correct, t: result.total, p: result.percent, ok: result.passed };
    quiz.a = null;
    showResult(item, section, attempt, drawn, answers, result);
    save();
  }

  function showResult(item, section, attempt, drawn, answers, result) {
    var view = find(section, '[data-view="result"]');
    text(find(view, "[data-score]"), "You scored " + result.correct + " out of " + result.total +
         " (" + percentText(result.percent) + ").");
    var verdict = find(view, "[data-quiz-verdict]");
    verdict.replaceChildren(result.passed ? tag("Passed", "green") : tag("Not passed", "red"),
                            " The pass mark is " + percentText(item.passMark) + ".");
    find(view, '[data-action="quiz-retry"]').hidden = result.passed || attemptsLeft(item) <= 0;
    var holder = find(section, "[data-questions]");
    find(view, "[data-review]").append(holder);
    var nodes = questionNodes(item, section);
    drawn.forEach(function (question) {
      var node = nodes[item.questions.indexOf(question)];
      var right = scoring.isCorrect(question, answers[question.id]);
      findAll(node, "input, select").forEach(function (input) { input.disabled = true; });
      var explanation = find(node, "[data-explanation]");
      find(explanation, "[data-verdict]").replaceChildren(
        right ? tag("Right", "green") : tag("Wrong", "red"));
      explanation.hidden = false;
    });
    showView(section, "result");
    announce("Quiz submitted. You scored " + result.correct + " out of " + result.total + ".");
  }

  /* --- scenarios ------------------------------------------------------------------------- */

  function currentStep(item) {
    var run = runState(item.slug);
    return run.p ? run.p[run.p.length - 1][0] : null;
  }

  function showScenario(item, section) {
    var run = runState(item.slug);
    if (run.p && run.fb) return showFeedback(item, section);
    var stepId = currentStep(item);
    if (stepId && item.steps[stepId]) return showStep(item, section, stepId);
    var last = find(section, "[data-last-result]");
    last.replaceChildren();
    if (run.passed) last.append(element("p", "govuk-body", "You have reached a good ending of this walkthrough. You can walk it again."));
    text(find(section, '[data-action="scenario-start"]'), run.passed ? "Start the walkthrough again" : "Start the walkthrough");
    showView(section, "overview");
  }

  function startRun(item, section) {
    var run = runState(item.slug);
    run.p = [[item.start, null]];
    run.m = {};
    run.fb = null;
    run.end = false;
    showStep(item, section, item.start);
    save();
  }

  function showStep(item, section, stepId) {
    var run = runState(item.slug);
    if (item.steps[stepId].kind === "end" && run.end) return showDebrief(item, section);
    var view = find(section, '[data-view="step"][data-step="' + CSS.escape(stepId) + '"]');
    var group = find(view, "[data-methane-group]");
    if (group) {
      group.classList.remove("govuk-form-group--error");
      find(group, "[data-error]").hidden = true;
    }
    showView(section, "step", stepId);
  }

  function stepView(section, stepId) {
    return find(section, '[data-view="step"][data-step="' + CSS.escape(stepId) + '"]');
  }

  function advance(item, section, choiceId) {
    var run = runState(item.slug), stepId = currentStep(item), step = item.steps[stepId];
    var choice = step.choices.find(function (c) { return c.id === choiceId; });
    if (!choice) return;
    run.p[run.p.length - 1][1] = choice.id;
    run.p.push([choice.target, null]);
    var target = item.steps[choice.target];
    if (target && target.kind === "end" && target.result === "pass") run.passed = true;
    /* A METHANE step's Continue has no feedback of its own: go straight on. */
    var hasFeedback = Boolean(find(stepView(section, stepId),
                                   '[data-feedback="' + CSS.escape(choiceId) + '"] .app-course-content'));
    run.fb = hasFeedback || step.kind !== "methane" ? [stepId, choiceId] : null;
    if (run.fb) showFeedback(item, section);
    else showStep(item, section, choice.target);
    save();
  }

  function showFeedback(item, section) {
    var run = runState(item.slug), stepId = run.fb[0], choiceId = run.fb[1];
    var view = find(section, '[data-view="feedback"]'), source = stepView(section, stepId);
    var stepTitle = find(source, "h1").textContent.trim();
    text(find(view, "[data-feedback-step]"), "At “" + stepTitle + "” you chose:");
    find(view, "[data-feedback-choice]").innerHTML =
      find(source, '[data-choice-label="' + CSS.escape(choiceId) + '"]').innerHTML;
    find(view, "[data-feedback-text]").innerHTML =
      find(source, '[data-feedback="' + CSS.escape(choiceId) + '"]').innerHTML;
    showView(section, "feedback");
  }

  function continueAfterFeedback(item, section) {
    var run = runState(item.slug);
    run.fb = null;
    showStep(item, section, currentStep(item));
    save();
  }

  function submitMethane(item, section) {
    var run = runState(item.slug), stepId = currentStep(item), step = item.steps[stepId];
    var view = stepView(section, stepId), group = find(view, "[data-methane-group]");
    var texts = findAll(view, "[data-methane-field]").map(function (field) { return field.value.trim(); });
    if (texts.every(function (value) { return !value; })) {
      group.classList.add("govuk-form-group--error");
      text(find(group, "[data-error-text]"), "Write at least one part of your M/ETHANE message");
      find(group, "[data-error]").hidden = false;
      find(view, "[data-methane-field]").focus();
      return;
    }
    var compared = scoring.compareMethane(step.model || [], texts, data.methane);
    run.m[stepId] = { t: texts, c: compared.map(function (field) { return field.covered; }) };
    advance(item, section, step.choices[0].id);
  }

  function showDebrief(item, section) {
    var run = runState(item.slug), view = find(section, '[data-view="debrief"]');
    var vocabularies = { stages: data.stages.map(function (s) { return s[0]; }),
                         principles: data.principles.map(function (p) { return p[0]; }) };
    var score = scoring.scoreScenario(item, run.p, vocabularies);
    var ending = stepView(section, currentStep(item));
    text(find(view, "[data-outcome]"), (score.result === "pass" ? "You reached a good ending: " : "This walkthrough ended badly: ") +
         find(ending, "h1").textContent.trim() + ".");
    text(find(view, "[data-points]"), "You scored " + score.points + " points. The best path scores " + score.best + ".");
    var path = find(view, "[data-path]");
    path.replaceChildren();
    run.p.forEach(function (taken) {
      if (taken[1] === null) return;
      var source = stepView(section, taken[0]), entry = element("li");
      entry.append(element("p", "govuk-body govuk-!-font-weight-bold govuk-!-margin-bottom-1", find(source, "h1").textContent.trim()));
      var chose = element("p", "govuk-body govuk-!-margin-bottom-1");
      chose.append("You chose: ");
      var label = element("span");
      label.innerHTML = find(source, '[data-choice-label="' + CSS.escape(taken[1]) + '"]').innerHTML;
      chose.append(label);
      entry.append(chose);
      var feedback = element("div");
      feedback.innerHTML = find(source, '[data-feedback="' + CSS.escape(taken[1]) + '"]').innerHTML;
      entry.append(feedback);
      path.append(entry);
    });
    find(view, "[data-stages]").replaceChildren(touchedList(score.stagesTouched, score.stagesMissed, data.stages));
    find(view, "[data-principles]").replaceChildren(touchedList(score.principlesTouched, score.principlesMissed, data.principles));
    methaneDebrief(item, section, run, find(view, "[data-methane-debrief]"));
    showView(section, "debrief");
  }

  function touchedList(touched, missed, labels) {
    var names = {};
    labels.forEach(function (pair) { names[pair[0]] = pair[1]; });
    var list = element("ul", "govuk-list");
    touched.forEach(function (code) {
      var entry = element("li");
      entry.append(tag("Touched", "green"), " " + names[code]);
      list.append(entry);
    });
    missed.forEach(function (code) {
      var entry = element("li");
      entry.append(tag("Missed", "grey"), " " + names[code]);
      list.append(entry);
    });
    if (!touched.length && !missed.length) list.append(element("li", "", "This walkthrough is not tagged with any."));
    return list;
  }

  function methaneDebrief(item, section, run, holder) {
    holder.replaceChildren();
    Object.keys(run.m).forEach(function (stepId) {
      var written = run.m[stepId], model = item.steps[stepId].model || [];
      holder.append(element("h2", "govuk-heading-m", "Your M/ETHANE message"));
      var list = element("dl", "govuk-summary-list");
      data.methane.fields.forEach(function (field, index) {
        var row = element("div", "govuk-summary-list__row");
        var value = element("dd", "govuk-summary-list__value");
        value.append(written.c[index] ? tag("Covered", "green") : tag("Missed", "grey"));
        value.append(element("p", "govuk-body govuk-!-margin-top-2 govuk-!-margin-bottom-1",
                             "You wrote: " + (written.t ? written.t[index] || "(nothing)" : "(not kept)")));
        value.append(element("p", "govuk-body govuk-!-margin-bottom-0",
                             "Model answer: " + (model[index] || "")));
        row.append(element("dt", "govuk-summary-list__key", field[0] + " – " + field[1]), value);
        list.append(row);
      });
      holder.append(list);
    });
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
    "quiz-start": function (item, section) { startAttempt(item, section); },
    "quiz-retry": function (item, section) { startAttempt(item, section); },
    "quiz-submit": function (item, section) { submitAttempt(item, section); },
    "scenario-start": function (item, section) { startRun(item, section); },
    "scenario-start-again": function (item, section) { startRun(item, section); },
    "scenario-choose": function (item, section, button) { advance(item, section, button.getAttribute("data-choice")); },
    "scenario-methane": function (item, section) { submitMethane(item, section); },
    "scenario-continue": function (item, section) { continueAfterFeedback(item, section); },
    "scenario-debrief": function (item, section) { runState(item.slug).end = true; showDebrief(item, section); save(); }
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button || !ready) return;
    var item = currentItem(button);
    actions[button.getAttribute("data-action")](item, item ? page(item.slug) : null, button);
  });

  document.addEventListener("change", function (event) {
    var section = event.target.closest('[data-kind="quiz"]');
    if (section && ready) keepAnswers(bySlug[section.getAttribute("data-page")], section);
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
    if (quizItem && quizItem.kind === "quiz") keepAnswers(quizItem, page(quizItem.slug));
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
