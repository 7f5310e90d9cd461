"""pytest plugin: apply the mutation named by the environment variable TRM_MUTATION before collection
(``python -m pytest -p tests.mutations.plugin``). Without the variable it does nothing."""
import os


def pytest_configure(config):
    name = os.environ.get("TRM_MUTATION")
    if name:
        from tests.mutations.catalog import MUTATIONS, apply

        apply(MUTATIONS[name])
