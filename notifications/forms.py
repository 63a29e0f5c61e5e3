"""Forms of the inbox pages: they parse; the choices' rules are the services'."""

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications.choices import Delivery, NotificationKind


class PreferencesForm(forms.Form):
    """One choice per kind of notification: e-mail at once, a daily digest, or the inbox only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            self.fields[kind] = forms.ChoiceField(label=label, choices=Delivery.choices, widget=forms.RadioSelect)


class FollowForm(forms.Form):
    """A region (by its UN M49 name) or an organization (by its acronym) to follow or stop following."""

    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    organization = forms.CharField(label=_("Organization"), required=False, max_length=40)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
