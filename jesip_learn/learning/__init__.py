"""Learning: progress and completions, quiz attempts and allowances, scenario runs,
certificates, item analysis."""
