"""Face detection, 68-point landmarks (dlib) and FFHQ alignment.

``detect.py`` finds faces and their landmarks; ``ffhq.py`` is the alignment geometry, pure
numpy/OpenCV: landmarks in, aligned image and the native → output transform out.
"""

from .detect import Face, LandmarkDetector, eye_centres, landmark_meta, predictor_path
from .ffhq import align_ffhq, ffhq_quad, quad_matrix, transform_points, warp_labels

__all__ = [
    "Face",
    "LandmarkDetector",
    "align_ffhq",
    "eye_centres",
    "ffhq_quad",
    "landmark_meta",
    "predictor_path",
    "quad_matrix",
    "transform_points",
    "warp_labels",
]
