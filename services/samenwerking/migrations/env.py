from gedeeld.migraties import configure_env
from services.samenwerking.store import Base

configure_env(Base.metadata)
