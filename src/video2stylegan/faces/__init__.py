"""Face analysis: detection, 68 landmarks, identity, FFHQ alignment, pose, part masks.

Everything works on ``uint8`` RGB arrays and pixel coordinates ``(x, y)`` of
the input image (integer values at pixel centres). See ``docs/faces.md``.

Typical use::

    from video2stylegan import faces
    face = faces.detect_face(image)                 # largest face, 68 landmarks
    crop = faces.align_face(image, face, 1024)      # FFHQ crop + transform
    frame = faces.paste_back(image, edited, crop)   # back into the photo (alpha blend)
    frame = faces.paste_face(image, generated, crop)  # seamless: face region, colour-matched, Poisson
    pose = faces.head_pose(face, image.shape)       # yaw, pitch, roll (degrees)
    t = faces.canonical_params(face, image.shape)   # tx, ty (image fractions), r (rad)
    masks = faces.part_masks(face, image.shape, size=256)
    vec = faces.face_descriptor(image, face)        # 128-D identity
"""

from video2stylegan.faces.alignment import (
    AlignedFace,
    align_face,
    align_frames,
    face_hull_mask,
    ffhq_quad,
    quad_matrix,
)
from video2stylegan.faces.canonical import (
    FFHQ_EYE_CENTER,
    FFHQ_EYE_LEFT,
    FFHQ_EYE_RIGHT,
    CanonicalParams,
    canonical_params,
    eye_center,
)
from video2stylegan.faces.detection import DETECTORS, Face, choose_face, detect_face, detect_faces, landmarks_in_box
from video2stylegan.faces.identity import (
    SAME_PERSON_THRESHOLD,
    face_descriptor,
    face_descriptors,
    identity_distance,
)
from video2stylegan.faces.masks import FOREHEAD, PARTS, face_region_mask, part_masks
from video2stylegan.faces.paste import BLENDS, blend_mask, match_colour, paste_back, paste_face, seam_error
from video2stylegan.faces.pose import MEAN_FACE_3D, HeadPose, camera_matrix, euler_to_rotation, head_pose, rotation_to_euler
from video2stylegan.faces.temporal import temporal_mean, wrap_angle
from video2stylegan.faces.video import TrackOptions, VideoFaces, track_faces, track_video

__all__ = [
    "AlignedFace",
    "BLENDS",
    "CanonicalParams",
    "DETECTORS",
    "FFHQ_EYE_CENTER",
    "FFHQ_EYE_LEFT",
    "FFHQ_EYE_RIGHT",
    "FOREHEAD",
    "Face",
    "HeadPose",
    "MEAN_FACE_3D",
    "PARTS",
    "SAME_PERSON_THRESHOLD",
    "TrackOptions",
    "VideoFaces",
    "align_face",
    "align_frames",
    "blend_mask",
    "camera_matrix",
    "canonical_params",
    "choose_face",
    "detect_face",
    "detect_faces",
    "euler_to_rotation",
    "eye_center",
    "face_descriptor",
    "face_descriptors",
    "face_hull_mask",
    "face_region_mask",
    "ffhq_quad",
    "head_pose",
    "identity_distance",
    "landmarks_in_box",
    "match_colour",
    "paste_back",
    "paste_face",
    "part_masks",
    "quad_matrix",
    "rotation_to_euler",
    "seam_error",
    "temporal_mean",
    "track_faces",
    "track_video",
    "wrap_angle",
]
