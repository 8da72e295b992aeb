"""The JESIP Learn web application: `flask --app app run`, `gunicorn app:app`, or
`python app.py` for development."""

import os

from jesip_learn.factory import create_app

app = create_app()

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
