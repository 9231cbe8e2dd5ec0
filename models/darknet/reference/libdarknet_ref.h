/* The only door to libdarknet (pjreddie's Darknet, Debian package `darknet`), used as the
 * reference that facekit is checked against. libdarknet exports unprefixed names (image,
 * network, error, gemm...), so darknet.h is included by libdarknet_ref.c alone and everything
 * here is prefixed fk_darknet_. Not thread-safe: libdarknet uses rand() and global state. */
#ifndef FACEKIT_LIBDARKNET_REF_H
#define FACEKIT_LIBDARKNET_REF_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_darknet fk_darknet;

/* Loads a cfg (batch set to 1) and, when weights_path is not NULL, its weights. Darknet itself
 * exits on some malformed cfgs: give it only cfgs facekit has parsed first. */
fk_darknet* fk_darknet_load(const char* cfg_path, const char* weights_path);
void fk_darknet_free(fk_darknet* net);

/* Random weights from `seed`, then sane BatchNorm statistics: random scales and biases, and
 * rolling mean/variance measured by one training-mode forward on a random input. */
void fk_darknet_randomize(fk_darknet* net, unsigned seed);
int fk_darknet_save_weights(fk_darknet* net, const char* path);

int fk_darknet_num_layers(const fk_darknet* net);
void fk_darknet_input_shape(const fk_darknet* net, int* c, int* h, int* w);
/* Runs an inference forward on a (c, h, w) float input. */
void fk_darknet_forward(fk_darknet* net, const float* input);
/* Output of layer i after the last forward, with its shape; NULL if i is out of range. */
const float* fk_darknet_layer_output(const fk_darknet* net, int i, int* c, int* h, int* w);

/* A training-mode forward (net->train = 1, as train_network_datum runs it) on a (c, h, w) input
 * with `num_boxes` ground-truth boxes of 5 floats each (x, y, w, h normalised, then the class).
 * Afterwards yolo and region layers hold their `delta` (see fk_darknet_layer_delta). Returns -1
 * when the boxes do not fit the network's truth buffer. */
int fk_darknet_train_forward(fk_darknet* net, const float* input, const float* boxes, int num_boxes);
/* Layer i's delta after fk_darknet_train_forward (size = its outputs); NULL if it has none. */
const float* fk_darknet_layer_delta(const fk_darknet* net, int i, int* size);

/* libdarknet's detections after the last forward, as `darknet detect` makes them:
 * get_network_boxes (each box mapped back to an image_w x image_h image by correct_yolo_boxes or
 * correct_region_boxes, pjreddie's letterbox correction; not clipped), then do_nms_sort at `nms`.
 * Writes a row of 6 floats (x1, y1, x2, y2 in image pixels, class, probability) for every box and
 * class whose probability is above `thresh` after NMS, at most `max` rows; returns how many
 * there are (which may exceed `max`). */
int fk_darknet_detections(fk_darknet* net, int image_w, int image_h, float thresh, float nms, float* rows, int max);

/* Darknet's load_image_color + letterbox_image (or resize_image when letterbox is 0) of a file
 * into out (3 x h x w floats, RGB planar in [0, 1]). Returns 0 on success, -1 if the file
 * cannot be read. */
int fk_darknet_load_resized(const char* image_path, int w, int h, int letterbox, float* out);

#ifdef __cplusplus
}
#endif

#endif
