from gedeeld.migraties import configure_env
from services.casusregister.store import Base

configure_env(Base.metadata)
