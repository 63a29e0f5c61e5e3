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
