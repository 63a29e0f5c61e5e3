from core.api.routers import Router
from partners.api.views import PartnerNationViewSet

router = Router()
router.register("partners", PartnerNationViewSet, basename="partner")
urlpatterns = router.urls
