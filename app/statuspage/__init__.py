"""The public status page: a read model of the store, pure view models, Jinja2 templates.

Only what a responder chose to publish is shown: non-private incidents with at least one
stakeholder update posted with "Also publish on the status page", and only those updates.
"""
