"""facessl.models.renderers: pure-PyTorch differentiable rendering."""
from .camera import (PerspectiveCamera, inverse_transform_points,  # noqa
                     rotation_matrix, transform_points)
from .rasterize import (barycentric, grid_faces,  # noqa: F401
                        rasterize_depth, zbuffer_faces)
from .renderer import (DepthMapRenderer, check_image_size,  # noqa: F401
                       render_canonical, warp_to_view)
from .shading import (depth_to_normals, lambertian_shading,  # noqa: F401
                      light_direction)
