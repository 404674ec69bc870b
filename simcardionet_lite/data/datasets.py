"""The dataset names, re-exported from the one-concept modules that define them.

Why a facade: user code, the book and the tests import ``from simcardionet_lite.data.datasets
import SyntheticECG, ECGImageFolder, PTBXL, build_dataset, ...``; the code lives in

* :mod:`~simcardionet_lite.data.pages`: ``prepare_page``, ``PageDataset``, ``SubsetView``;
* :mod:`~simcardionet_lite.data.images`: folder discovery, the one ``load_image``, ``ECGImageFolder``;
* :mod:`~simcardionet_lite.data.synthetic`: ``SyntheticECG``;
* :mod:`~simcardionet_lite.data.ptbxl`: PTB-XL metadata and ``PTBXL``;
* :mod:`~simcardionet_lite.data.standin`: the constructed Dataset II stand-in;
* :mod:`~simcardionet_lite.data.factory`: ``build_dataset`` and ``dataset_record``.

This module defines nothing itself.
"""

from __future__ import annotations

from simcardionet_lite.data.factory import SOURCES, STANDIN_DEFAULTS, build_dataset, dataset_record, synthetic_standin
from simcardionet_lite.data.images import (
    IMAGE_EXTENSIONS,
    KAGGLE_FOLDERS,
    KAGGLE_SPLITS,
    MENDELEY_FOLDERS,
    ECGImageFolder,
    discover_images,
    file_sha256,
    load_image,
)
from simcardionet_lite.data.pages import DATA_VERSION, PageDataset, SubsetView, groups_from_keys, prepare_page, subset
from simcardionet_lite.data.ptbxl import PTBXL
from simcardionet_lite.data.standin import KAGGLE_CLASS_FOLDERS, build_kaggle_standin
from simcardionet_lite.data.synthetic import SyntheticECG

__all__ = [
    "DATA_VERSION",
    "ECGImageFolder",
    "IMAGE_EXTENSIONS",
    "KAGGLE_CLASS_FOLDERS",
    "KAGGLE_FOLDERS",
    "KAGGLE_SPLITS",
    "MENDELEY_FOLDERS",
    "PTBXL",
    "PageDataset",
    "SOURCES",
    "STANDIN_DEFAULTS",
    "SubsetView",
    "SyntheticECG",
    "build_dataset",
    "build_kaggle_standin",
    "dataset_record",
    "discover_images",
    "file_sha256",
    "groups_from_keys",
    "load_image",
    "prepare_page",
    "subset",
    "synthetic_standin",
]
