#include "models/darknet/reference/libdarknet_ref.h"

#include <darknet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's training-mode forward keeps rolling = .99 * rolling + .01 * batch statistic
 * (forward_batchnorm_layer); starting from 0, one pass leaves .01 times the statistic. */
#define BN_ROLLING_RATE 0.01f
#define MIN_VARIANCE 1e-2f
/* The layer that feeds a classifier's softmax gets weights this much smaller: a random net's
 * logits are otherwise so large that the softmax saturates and turns 1e-7 differences in the
 * logits into 1e-4 differences in the probabilities. */
#define LOGIT_SCALE 0.01f

struct fk_darknet {
  network* net;
};

/* pjreddie's make_batchnorm_layer does not allocate the buffers its own forward writes (a
 * standalone [batchnorm] crashes in copy_cpu, even at inference); give them at load time. */
static void allocate_batchnorm_buffers(layer* l) {
  const size_t outputs = (size_t)l->outputs * (size_t)l->batch;
  if (!l->x) l->x = (float*)calloc(outputs, sizeof(float));
  if (!l->x_norm) l->x_norm = (float*)calloc(outputs, sizeof(float));
  if (!l->mean) l->mean = (float*)calloc((size_t)l->out_c, sizeof(float));
  if (!l->variance) l->variance = (float*)calloc((size_t)l->out_c, sizeof(float));
}

fk_darknet* fk_darknet_load(const char* cfg_path, const char* weights_path) {
  network* net = parse_network_cfg((char*)cfg_path);
  if (!net) return NULL;
  if (weights_path) load_weights(net, (char*)weights_path);
  set_batch_network(net, 1);
  for (int i = 0; i < net->n; ++i) {
    if (net->layers[i].type == BATCHNORM) allocate_batchnorm_buffers(&net->layers[i]);
  }
  fk_darknet* handle = (fk_darknet*)calloc(1, sizeof(fk_darknet));
  handle->net = net;
  return handle;
}

void fk_darknet_free(fk_darknet* handle) {
  if (!handle) return;
  free_network(handle->net);
  free(handle);
}

static float uniform(float low, float high) { return low + (high - low) * ((float)rand() / (float)RAND_MAX); }

static void randomize_bn(layer* l, int channels) {
  for (int i = 0; i < channels; ++i) {
    l->scales[i] = uniform(0.5f, 1.5f);
    l->rolling_mean[i] = 0.f;
    l->rolling_variance[i] = 0.f;
  }
}

static void randomize_layer(layer* l) {
  int fan_in = 0, weights = 0, outputs = 0;
  if (l->type == CONVOLUTIONAL) {
    fan_in = l->size * l->size * l->c / l->groups;
    weights = l->nweights;
    outputs = l->n;
  } else if (l->type == CONNECTED) {
    fan_in = l->inputs;
    weights = l->inputs * l->outputs;
    outputs = l->outputs;
  } else if (l->type == BATCHNORM) {
    randomize_bn(l, l->c);
    return;
  } else {
    return;
  }
  const float scale = sqrtf(2.f / (float)fan_in);
  for (int i = 0; i < weights; ++i) l->weights[i] = scale * rand_normal();
  for (int i = 0; i < outputs; ++i) l->biases[i] = uniform(-0.1f, 0.1f);
  if (l->batch_normalize) randomize_bn(l, outputs);
}

static void calibrate_batchnorm(network* net) {
  float* input = (float*)calloc((size_t)net->inputs, sizeof(float));
  for (int i = 0; i < net->inputs; ++i) input[i] = uniform(0.f, 1.f);
  net->input = input;
  net->train = 1;
  net->delta = 0;
  /* Heads read training truth; all-zero truth means "no boxes". */
  float* truth = (float*)calloc((size_t)(net->truths > 0 ? net->truths : 1), sizeof(float));
  net->truth = truth;
  forward_network(net);
  net->train = 0;
  for (int i = 0; i < net->n; ++i) {
    layer* l = &net->layers[i];
    if (!l->rolling_mean || !(l->batch_normalize || l->type == BATCHNORM)) continue;
    const int channels = l->out_c;
    for (int k = 0; k < channels; ++k) {
      l->rolling_mean[k] /= BN_ROLLING_RATE;
      l->rolling_variance[k] /= BN_ROLLING_RATE;
      /* a 1x1 output at batch 1 has no variance (Darknet divides by 0) */
      if (!(l->rolling_variance[k] >= MIN_VARIANCE) || !isfinite(l->rolling_variance[k])) l->rolling_variance[k] = 1.f;
      if (!isfinite(l->rolling_mean[k])) l->rolling_mean[k] = 0.f;
    }
  }
  free(input);
  free(truth);
  net->input = 0;
  net->truth = 0;
}

static void tame_logits(network* net) {
  int last = net->n - 1;
  while (last > 0 && net->layers[last].type == COST) --last;
  if (net->layers[last].type != SOFTMAX) return;
  for (int i = last; i >= 0; --i) {
    layer* l = &net->layers[i];
    if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
    if (l->batch_normalize) return;
    const int weights = l->type == CONVOLUTIONAL ? l->nweights : l->inputs * l->outputs;
    const int outputs = l->type == CONVOLUTIONAL ? l->n : l->outputs;
    for (int k = 0; k < weights; ++k) l->weights[k] *= LOGIT_SCALE;
    for (int k = 0; k < outputs; ++k) l->biases[k] *= LOGIT_SCALE;
    return;
  }
}

void fk_darknet_randomize(fk_darknet* handle, unsigned seed) {
  srand(seed);
  network* net = handle->net;
  for (int i = 0; i < net->n; ++i) randomize_layer(&net->layers[i]);
  tame_logits(net);
  calibrate_batchnorm(net);
}

int fk_darknet_save_weights(fk_darknet* handle, const char* path) {
  save_weights(handle->net, (char*)path);
  FILE* check = fopen(path, "rb");
  if (!check) return -1;
  fclose(check);
  return 0;
}

int fk_darknet_num_layers(const fk_darknet* handle) { return handle->net->n; }

void fk_darknet_input_shape(const fk_darknet* handle, int* c, int* h, int* w) {
  *c = handle->net->c;
  *h = handle->net->h;
  *w = handle->net->w;
}

void fk_darknet_forward(fk_darknet* handle, const float* input) {
  network_predict(handle->net, (float*)input);
}

const float* fk_darknet_layer_output(const fk_darknet* handle, int i, int* c, int* h, int* w) {
  if (i < 0 || i >= handle->net->n) return NULL;
  const layer* l = &handle->net->layers[i];
  *c = l->out_c;
  *h = l->out_h;
  *w = l->out_w;
  /* softmax and cost layers leave out_c/h/w unset: report them as outputs x 1 x 1 */
  if (*c * *h * *w != l->outputs) {
    *c = l->outputs;
    *h = 1;
    *w = 1;
  }
  return l->output;
}

int fk_darknet_train_forward(fk_darknet* handle, const float* input, const float* boxes, int num_boxes) {
  network* net = handle->net;
  const int values_per_box = 5;
  if (num_boxes * values_per_box > net->truths) return -1;
  float* truth = (float*)calloc((size_t)net->truths, sizeof(float));
  memcpy(truth, boxes, sizeof(float) * (size_t)(num_boxes * values_per_box));
  float* saved_truth = net->truth;
  net->input = (float*)input;
  net->truth = truth;
  net->train = 1;
  forward_network(net);
  net->train = 0;
  net->input = 0;
  net->truth = saved_truth;
  free(truth);
  return 0;
}

const float* fk_darknet_layer_delta(const fk_darknet* handle, int i, int* size) {
  if (i < 0 || i >= handle->net->n) return NULL;
  const layer* l = &handle->net->layers[i];
  *size = l->outputs;
  return l->delta;
}

int fk_darknet_detections(fk_darknet* handle, int image_w, int image_h, float thresh, float nms, float* rows, int max) {
  network* net = handle->net;
  const int classes = net->layers[net->n - 1].classes;
  int num = 0;
  detection* dets = get_network_boxes(net, image_w, image_h, thresh, /*hier=*/0.5f, /*map=*/NULL, /*relative=*/0, &num);
  do_nms_sort(dets, num, classes, nms);
  int count = 0;
  for (int i = 0; i < num; ++i) {
    const box b = dets[i].bbox;
    for (int c = 0; c < classes; ++c) {
      if (dets[i].prob[c] <= thresh) continue;
      if (count < max) {
        float* row = rows + 6 * count;
        row[0] = b.x - b.w / 2;
        row[1] = b.y - b.h / 2;
        row[2] = b.x + b.w / 2;
        row[3] = b.y + b.h / 2;
        row[4] = (float)c;
        row[5] = dets[i].prob[c];
      }
      ++count;
    }
  }
  free_detections(dets, num);
  return count;
}

int fk_darknet_load_resized(const char* image_path, int w, int h, int letterbox, float* out) {
  FILE* probe = fopen(image_path, "rb");
  if (!probe) return -1;
  fclose(probe);
  image original = load_image_color((char*)image_path, 0, 0);
  image resized = letterbox ? letterbox_image(original, w, h) : resize_image(original, w, h);
  memcpy(out, resized.data, sizeof(float) * (size_t)(3 * w * h));
  free_image(original);
  free_image(resized);
  return 0;
}
