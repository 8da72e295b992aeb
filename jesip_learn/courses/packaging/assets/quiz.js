/* The quizzes inside a package: draws an attempt's questions and puts their options in
   a random order, keeps the answers as the learner gives them, marks them with scoring.js
   and shows the result with each question's explanation. player.js connects it to the
   page, the learner's place and the learning system. Plain ES2017. */
(function (root) {
  "use strict";

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

  /* `shared` is what player.js lends: its helpers, the views, save() and the learner's
     state of each quiz (quizState). */
  function connect(shared) {
    var scoring = root.JesipScoring;
    var find = shared.find, findAll = shared.findAll, text = shared.text;
    var element = shared.element, tag = shared.tag, percentText = shared.percentText;
    var showView = shared.showView, announce = shared.announce, save = shared.save;
    var quizState = shared.quizState;

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

    return { show: showQuiz, start: startAttempt, submit: submitAttempt, keepAnswers: keepAnswers };
  }

  root.JesipQuiz = { connect: connect };
})(window);
