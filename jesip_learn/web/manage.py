"""Managers' pages: approving registrations for the organisations they manage."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from jesip_learn import users
from jesip_learn.models import Permission, User
from jesip_learn.permissions import can_manage_user

from .edge import db

blueprint = Blueprint("manage", __name__, url_prefix="/manage")


@blueprint.before_request
@login_required
def require_manager():
    if not (current_user.is_admin or current_user.has_permission(Permission.MANAGER)):
        abort(403)


def _user_in_scope(user_id: int) -> User:
    user = db().get(User, user_id)
    # Someone outside the manager's scope is "not found", so their existence is not revealed.
    if user is None or not can_manage_user(db(), current_user, user):
        abort(404)
    return user


@blueprint.route("/approvals")
def approvals():
    return render_template("manage/approvals.html", pending=users.pending_approvals(db(),
                           current_user), form=FlaskForm())


@blueprint.route("/approvals/<int:user_id>/approve", methods=["POST"])
def approve(user_id: int):
    user = _user_in_scope(user_id)
    if FlaskForm().validate_on_submit():
        users.approve_user(db(), current_user, user)
        flash(f"{user.name} can now sign in.", "success")
    return redirect(url_for("manage.approvals"))


@blueprint.route("/approvals/<int:user_id>/reject", methods=["POST"])
def reject(user_id: int):
    user = _user_in_scope(user_id)
    if FlaskForm().validate_on_submit():
        users.reject_user(db(), current_user, user)
        flash(f"The registration of {user.name} has been refused.", "success")
    return redirect(url_for("manage.approvals"))
