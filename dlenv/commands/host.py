"""`host` namespace: set up and diagnose a GPU container host."""

from invoke.collection import Collection

from dlenv.commands.host_doctor import doctor
from dlenv.commands.host_setup import setup, verify

ns = Collection("host")
ns.add_task(setup)
ns.add_task(verify)
ns.add_task(doctor)
