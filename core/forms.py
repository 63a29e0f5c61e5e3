from django import forms
from django.utils.translation import gettext_lazy as _

from core.audit import ACTION_LABELS, history_models, record_type_label


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(label=_("Record type"), required=False)
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("Any"))] + list(ACTION_LABELS.items())
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = sorted(((label, record_type_label(label)) for label in history_models()), key=lambda c: str(c[1]))
        self.fields["model"].choices = [("", _("All")), *types]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["until"] < data["since"]:
            self.add_error("until", _("The end of the period cannot be before its start."))
        return data


class ApiTokenForm(forms.Form):
    """A new API token: what it is for and how long it lives (the limits are core.rules.api_token_lifetime)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        required=False,
        help_text=_("What the token is for, e.g. the system that will use it."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Lifetime in days"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"min": 1}),
    )

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        field = self.fields["expires_in_days"]
        field.widget.attrs["max"] = settings.API_TOKEN_MAX_DAYS
        field.widget.attrs["placeholder"] = settings.API_TOKEN_DAYS
        field.help_text = _("%(default)d days when left empty; at most %(maximum)d.") % {
            "default": settings.API_TOKEN_DAYS,
            "maximum": settings.API_TOKEN_MAX_DAYS,
        }
