/* Scoring by the course's own rules, as jesip_learn/scoring.py does it: a test runs the
   same answers through both. Pure: plain values in, plain values out. Plain ES2017. */
(function (root) {
  "use strict";

  function sameSet(a, b) {
    var left = new Set(a), right = new Set(b);
    if (left.size !== right.size) return false;
    for (var value of left) if (!right.has(value)) return false;
    return true;
  }

  function sortedCopy(list) {
    return list.slice().sort();
  }

  /* Is `answer` (option ids; in the learner's order for an ordering question) right? */
  function isCorrect(question, answer) {
    answer = Array.isArray(answer) ? answer : [];
    if (question.kind === "single") {
      return answer.length === 1 && sameSet(answer, question.correct);
    }
    if (question.kind === "multiple") {
      return sameSet(answer, question.correct);
    }
    var complete = JSON.stringify(sortedCopy(answer)) ===
      JSON.stringify(sortedCopy(question.options));
    return complete && JSON.stringify(answer) === JSON.stringify(question.order);
  }

  /* Is the answer complete enough to mark (a choice made, every place used once)? */
  function isComplete(question, answer) {
    answer = Array.isArray(answer) ? answer : [];
    if (question.kind === "single") return answer.length === 1;
    if (question.kind === "multiple") return answer.length > 0;
    return JSON.stringify(sortedCopy(answer)) === JSON.stringify(sortedCopy(question.options));
  }

  function scoreQuiz(questions, answers, passMark) {
    var correct = questions.filter(function (q) { return isCorrect(q, answers[q.id]); }).length;
    var total = questions.length;
    var percent = total ? 100.0 * correct / total : 0.0;
    return { correct: correct, total: total, percent: percent, passed: percent >= passMark };
  }

  /* The most points any path from the start to a pass ending can score. */
  function bestPoints(scenario) {
    var memo = new Map();
    function bestFrom(stepId, visiting) {
      var step = scenario.steps[stepId];
      if (!step || visiting.indexOf(stepId) !== -1) return null;
      var key = stepId + "|" + sortedCopy(visiting).join(",");
      if (memo.has(key)) return memo.get(key);
      var result;
      if (step.kind === "end") {
        result = step.result === "pass" ? 0 : null;
      } else {
        var next = visiting.concat([stepId]), found = [];
        step.choices.forEach(function (choice) {
          var rest = bestFrom(choice.target, next);
          if (rest !== null) found.push(choice.score + rest);
        });
        result = found.length ? Math.max.apply(null, found) : null;
      }
      memo.set(key, result);
      return result;
    }
    return bestFrom(scenario.start, []) || 0;
  }

  function ordered(vocabulary, chosen) {
    return vocabulary.filter(function (code) { return chosen.has(code); });
  }

  /* path: [[stepId, choiceId or null], ...]; vocabularies: {stages: [...], principles: [...]} */
  function scoreScenario(scenario, path, vocabularies) {
    var points = 0, stages = new Set(), principles = new Set();
    path.forEach(function (taken) {
      var step = scenario.steps[taken[0]];
      var choice = step ? step.choices.find(function (c) { return c.id === taken[1]; }) : null;
      if (!choice) return;
      points += choice.score;
      [choice.jdm, step.jdm].forEach(function (tag) { if (tag) stages.add(tag); });
      [choice.principle, step.principle].forEach(function (tag) { if (tag) principles.add(tag); });
    });
    var last = path.length ? scenario.steps[path[path.length - 1][0]] : null;
    var result = last && last.kind === "end" ? last.result : null;
    var offeredStages = new Set(), offeredPrinciples = new Set();
    Object.keys(scenario.steps).forEach(function (id) {
      var step = scenario.steps[id];
      [step].concat(step.choices).forEach(function (tagged) {
        if (tagged.jdm) offeredStages.add(tagged.jdm);
        if (tagged.principle) offeredPrinciples.add(tagged.principle);
      });
    });
    function missed(offered, touched) {
      return new Set(Array.from(offered).filter(function (tag) { return !touched.has(tag); }));
    }
    return {
      points: points, best: bestPoints(scenario), result: result,
      stagesTouched: ordered(vocabularies.stages, stages),
      stagesMissed: ordered(vocabularies.stages, missed(offeredStages, stages)),
      principlesTouched: ordered(vocabularies.principles, principles),
      principlesMissed: ordered(vocabularies.principles, missed(offeredPrinciples, principles))
    };
  }

  /* Lower-case words without punctuation or filler, singular, negations made one word. */
  function keyWords(text, rules) {
    var words = new Set();
    var found = String(text || "").toLowerCase().match(/[a-z0-9]+/g) || [];
    found.forEach(function (word) {
      if (rules.filler.indexOf(word) !== -1) return;
      if (rules.negations.indexOf(word) !== -1) {
        word = "not";
      } else if (Object.prototype.hasOwnProperty.call(rules.numbers, word)) {
        word = rules.numbers[word];
      } else if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) {
        word = word.slice(0, -1);
      }
      words.add(word);
    });
    return words;
  }

  /* Each field covered when the text holds about a third of the model's key words. */
  function compareMethane(modelLines, written, rules) {
    return rules.fields.map(function (field, index) {
      var model = modelLines[index] || "", text = written[index] || "";
      var wanted = keyWords(model, rules), given = keyWords(text, rules);
      var needed = Math.min(rules.most, Math.max(1, pythonRound(wanted.size * rules.share)));
      var shared = Array.from(wanted).filter(function (word) { return given.has(word); });
      return { letter: field[0], label: field[1], model: model, written: text,
               covered: given.size > 0 && shared.length >= needed };
    });
  }

  /* Python's round(): halves go to the even neighbour. */
  function pythonRound(value) {
    var floor = Math.floor(value), rest = value - floor;
    if (rest > 0.5) return floor + 1;
    if (rest < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  var api = { isCorrect: isCorrect, isComplete: isComplete, scoreQuiz: scoreQuiz,
              bestPoints: bestPoints, scoreScenario: scoreScenario, keyWords: keyWords,
              compareMethane: compareMethane };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.JesipScoring = api;
})(typeof window !== "undefined" ? window : this);
