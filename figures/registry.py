"""The figures, in the order they are made."""
from figures import (fig_bounds_vs_T, fig_estimators, fig_headline, fig_length_bias, fig_regime_map, fig_tables,
                     fig_tightness, fig_tightness_at_scale, fig_lower_bounds, fig_training)

FIGURES = {m.NAME: m for m in (fig_tables, fig_bounds_vs_T, fig_regime_map, fig_headline, fig_tightness,
                               fig_tightness_at_scale, fig_lower_bounds, fig_length_bias, fig_estimators, fig_training)}
