from rest_framework.routers import SimpleRouter

from partners.api.views import PartnerNationViewSet

router = SimpleRouter()
router.register("partners", PartnerNationViewSet, basename="partner")
urlpatterns = router.urls
