/* The scenarios inside a package: walks a scenario step by step, with the feedback on
   each choice and the learner's M/ETHANE messages, then scores the path with scoring.js
   and shows the debrief. player.js connects it to the page, the learner's place and the
   learning system. Plain ES2017. */
(function (root) {
  "use strict";

  /* `shared` is what player.js lends: the course's data, its helpers, the views, save()
     and the learner's state of each scenario (runState). */
  function connect(shared) {
    var scoring = root.JesipScoring, data = shared.data;
    var find = shared.find, findAll = shared.findAll, text = shared.text;
    var element = shared.element, tag = shared.tag;
    var showView = shared.showView, save = shared.save, runState = shared.runState;

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

    /* The end step's "See your debrief". The run is over: from now on its end step shows
       the debrief (showStep), as when the learner comes back to it. */
    function endRun(item, section) {
      runState(item.slug).end = true;
      showDebrief(item, section);
      save();
    }

    return { show: showScenario, start: startRun, choose: advance, methane: submitMethane,
             continueAfterFeedback: continueAfterFeedback, end: endRun };
  }

  root.JesipScenario = { connect: connect };
})(window);
