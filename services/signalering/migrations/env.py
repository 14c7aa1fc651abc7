from gedeeld.migraties import configure_env
from services.signalering.store import Base

configure_env(Base.metadata)
