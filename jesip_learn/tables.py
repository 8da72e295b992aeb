"""Every area's tables on the one `Base.metadata`.

Alembic's env.py compares this metadata with the database, and the app and the tests import
it so that every relationship between areas' tables can be resolved by name.
"""

from jesip_learn.accounts import models as accounts_models
from jesip_learn.compliance import models as compliance_models
from jesip_learn.core.db import Base
from jesip_learn.courses import models as courses_models
from jesip_learn.exercises import models as exercises_models
from jesip_learn.exercises.live import models as live_models
from jesip_learn.imports import models as imports_models
from jesip_learn.jobs import models as jobs_models
from jesip_learn.learning import models as learning_models
from jesip_learn.notifications import models as notifications_models
from jesip_learn.records import models as records_models
from jesip_learn.sso import models as sso_models
from jesip_learn.xapi import models as xapi_models

AREA_MODELS = (
    accounts_models,
    compliance_models,
    courses_models,
    exercises_models,
    live_models,
    imports_models,
    jobs_models,
    learning_models,
    notifications_models,
    records_models,
    sso_models,
    xapi_models,
)

metadata = Base.metadata
