"""The JESIP Learn web application: `flask --app app run`, `gunicorn app:app`, or
`python app.py` for development."""

import os

from jesip_learn.core.config import ConfigError
from jesip_learn.factory import create_app

try:
    app = create_app()
except ConfigError as error:
    raise SystemExit(f"JESIP Learn cannot start: {error}") from None

if __name__ == "__main__":
    from jesip_learn.accounts.administration import issue_first_administrator_token

    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    with app.extensions["database"].write_session() as session:
        token = issue_first_administrator_token(session)
    if token:
        print(f"No administrator yet. Create one at {app.config['SITE_URL']}/setup/{token}")
    app.run(host=host, port=port)
