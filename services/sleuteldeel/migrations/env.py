from gedeeld.migraties import configure_env
from services.sleuteldeel.store import Base

configure_env(Base.metadata)
