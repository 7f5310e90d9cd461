"""pytest plugin: apply the mutation named by the environment variable TRM_MUTATION before collection
(``python -m pytest -p tests.mutations.plugin``). Without the variable it does nothing.

numerics evaluates the bound formulas through the module generated from the kernel
(numerics/generated_bounds.py); after a mutation of proofs/ it evaluates the mutated kernel instead
(numerics.formulas.use_kernel), as it would once ``python3 -m numerics.codegen`` regenerated the module. With
TRM_MUTATION_GENERATED=1 the generated module stays in use (the drift test must then notice the mutant)."""
import os


def pytest_configure(config):
    name = os.environ.get("TRM_MUTATION")
    if name:
        from tests.mutations.catalog import MUTATIONS, apply

        mutation = MUTATIONS[name]
        apply(mutation)
        if mutation.target.startswith("proofs.") and not os.environ.get("TRM_MUTATION_GENERATED"):
            from numerics import formulas

            try:
                formulas.use_kernel()
            except Exception:       # the mutant kernel cannot even assemble: the killing tests that import it fail
                pass
