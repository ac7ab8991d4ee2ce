"""Inference on compiled models: maximum-likelihood fits."""

from .mle import FitResult, fit, fixed_poi_fit

__all__ = ["FitResult", "fit", "fixed_poi_fit"]
