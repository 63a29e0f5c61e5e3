"""The webhook page's form: it parses; the rules (allowed hosts, events, secret length) are the service's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.choices import WebhookEvent


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("Where events are POSTed. Its host must be listed in WEBHOOK_ALLOWED_HOSTS."),
        widget=forms.URLInput(attrs={"size": 60, "placeholder": "https://hooks.example.org/engagements"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,  # the service says why an empty choice is refused, beside the field
    )
    secret = forms.CharField(
        label=_("Secret"),
        max_length=200,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args, creating: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.fields["secret"].help_text = (
            _("Signs every delivery. Leave empty to have one generated, shown once after saving.")
            if creating
            else _("A secret is set; it is never shown. Type a new one to change it, or leave empty to keep it.")
        )

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        if not data.get("secret") and not self.creating:
            data.pop("secret", None)  # kept as it is
        return data
