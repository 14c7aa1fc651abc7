from gedeeld.migraties import configure_env
from services.trendradar.store import Base

configure_env(Base.metadata)
