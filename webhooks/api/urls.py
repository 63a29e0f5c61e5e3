from core.api.routers import Router
from webhooks.api.views import WebhookViewSet

router = Router()
router.register("webhooks", WebhookViewSet, basename="webhook")
urlpatterns = router.urls
