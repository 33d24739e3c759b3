"""Image-quality metrics on standard FID Inception-v3 features: FID, KID, precision/recall,
seed diversity and memorisation, with offline, hash-checked weights and cached reference statistics;
and checkerboard artefacts, from the power spectrum."""
from .artefacts import PowerSpectrum, checkerboard
from .diversity import mean_pairwise_feature_distance, mean_pairwise_pixel_l1, neighbour_feature_distance, neighbour_pixel_l1, pixel_l1, seed_diversity
from .errors import ImageSetError, MetricsError, SmallSampleWarning, WeightsError
from .features_cache import FeatureSet, feature_statistics, image_set_features
from .fid import fid, fid_from_stats
from .image_sets import FID_UNBIASED_N, check_image_set, list_image_set
from .inception import InceptionFeatures, find_weights, preprocess, verify_weights
from .kid import kid, mmd2_unbiased
from .memorisation import memorisation
from .precision_recall import precision_recall
from .two_sample import classifier_two_sample_test

__all__ = [
    "FID_UNBIASED_N", "FeatureSet", "ImageSetError", "InceptionFeatures", "MetricsError", "PowerSpectrum", "SmallSampleWarning", "WeightsError",
    "check_image_set", "checkerboard", "classifier_two_sample_test", "feature_statistics", "fid", "fid_from_stats", "find_weights", "image_set_features", "kid",
    "list_image_set", "mean_pairwise_feature_distance", "mean_pairwise_pixel_l1", "memorisation", "mmd2_unbiased",
    "neighbour_feature_distance", "neighbour_pixel_l1", "pixel_l1", "precision_recall", "preprocess", "seed_diversity",
    "verify_weights",
]
