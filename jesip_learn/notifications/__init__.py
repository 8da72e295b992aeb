"""Email notifications: reminders before training runs out, overdue notices, managers'
digests and scheduled reports.

- `settings`: the NOTIFY_* settings and the site's address for links.
- `preferences`: what each person has chosen, and signed unsubscribe links.
- `planning`: which notices are due on a day (from compliance.due_dates) and what each says.
- `reports`: managers' saved dashboard filters, and the attachment each sends.
- `notices`: the notices table: recorded once, claimed for a lease, sent or retried.
- `sender`: `flask --app app notify send`: record what is due, then send what is queued.

Required courses are covered. Other kinds of required training (exercises) join by giving
their due dates as `compliance.DueDate` rows with a subject key of their own
("exercise:7"): planning, the notices table and the emails do not depend on what is due.
"""
