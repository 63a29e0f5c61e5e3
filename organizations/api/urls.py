from core.api.routers import Router
from organizations.api.views import OrganizationViewSet

router = Router()
router.register("organizations", OrganizationViewSet, basename="organization")
urlpatterns = router.urls
