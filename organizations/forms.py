import datetime

from django import forms
from django.utils.translation import gettext_lazy as _


class MembersOnForm(forms.Form):
    """The date at which an organization's members are listed."""

    on = forms.DateField(
        label=_("Members on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a real date as YYYY-MM-DD, for example 2024-03-07.")},
    )

    def clean_on(self):
        value = self.cleaned_data.get("on")
        if value is not None and value < datetime.date(1800, 1, 1):
            raise forms.ValidationError(_("Our records start in 1800; pick a later date."))
        return value
