"""One blueprint per area; each view declares its access action (portal.access)."""


def register_blueprints(app):
    from portal.blueprints.admin.views import bp as admin
    from portal.blueprints.auth.views import bp as auth
    from portal.blueprints.home.views import bp as home
    from portal.blueprints.patients.views import bp as patients
    from portal.blueprints.schedule import bp as schedule

    for bp in (auth, home, patients, admin, schedule):
        app.register_blueprint(bp)
    from portal.blueprints.chart.views import bp as chart; app.register_blueprint(chart)  # noqa: E702
    from portal.blueprints.followups import bp as followups; app.register_blueprint(followups)  # noqa: E702
    from portal.blueprints.complaints.views import bp as complaints; app.register_blueprint(complaints)  # noqa: E702
    from portal.blueprints.reports.views import bp as reports; app.register_blueprint(reports)  # noqa: E702
    from portal.blueprints.portal.views import bp as portal_bp; app.register_blueprint(portal_bp)  # noqa: E702
    from portal.blueprints.members import bp as members; app.register_blueprint(members)  # noqa: E702
