"""Scheduled jobs: what is due when (`schedule`, pure), the lease that keeps a job to one
host at a time (`leases`), the loop that runs them (`worker`) and this site's jobs
(`catalogue`). `flask --app app jobs run` is the worker."""
