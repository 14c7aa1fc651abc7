from gedeeld.migraties import configure_env
from gedeeld.verwerkingslog.model import Base

configure_env(Base.metadata)
