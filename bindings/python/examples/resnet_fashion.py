"""Fashion-MNIST with a small ResNet built with the functional API: a Conv-BN-ReLU
stem, three stages of two basic blocks (16, 32, 64 filters; identity shortcuts,
or a 1x1 projection where the shape changes), global average pooling, Dense.

    python3 bindings/python/examples/resnet_fashion.py [DATA_DIR] [EPOCHS] [SAMPLES]

DATA_DIR holds the four *-ubyte.gz files (default /usr/share/datasets/fashion-mnist);
SAMPLES trains and tests on the first SAMPLES images of each split (default all).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bigmodel as bm  # noqa: E402
from bigmodel import layers  # noqa: E402


def conv_bn(x, filters, kernel, strides=1, relu=True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def basic_block(x, filters, strides=1):
    y = conv_bn(x, filters, 3, strides)
    y = conv_bn(y, filters, 3, relu=False)
    if strides != 1 or x.shape[-1] != filters:
        x = conv_bn(x, filters, 1, strides, relu=False)   # 1x1 projection shortcut
    return layers.ReLU()(layers.Add()([y, x]))


def resnet(input_shape=(28, 28, 1), classes=10, seed=42):
    inputs = bm.Input(shape=input_shape, name="image")
    x = conv_bn(inputs, 16, 3)
    for filters, strides in ((16, 1), (32, 2), (64, 2)):
        x = basic_block(x, filters, strides)
        x = basic_block(x, filters)
    x = layers.GlobalAveragePooling2D()(x)
    return bm.Model(inputs, layers.Dense(classes)(x), name="resnet", seed=seed)


def load(folder, split, samples=None):
    """A Dataset of (N, 28, 28, 1) pixels scaled to [0, 1] and int32 labels."""
    ds = bm.data.load_idx(os.path.join(folder, "%s-images-idx3-ubyte.gz" % split),
                          os.path.join(folder, "%s-labels-idx1-ubyte.gz" % split))
    ds = bm.preprocessing.Rescale(255.0).transform(ds, inplace=True)
    return ds.take(samples) if samples else ds


def main(folder="/usr/share/datasets/fashion-mnist", epochs=2, samples=None, verbose=1):
    train, test = load(folder, "train", samples), load(folder, "t10k", samples)
    model = resnet()
    model.summary()
    model.compile(optimizer=bm.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", from_logits=True,
                  metrics=["accuracy"])
    model.fit(train, epochs=epochs, batch_size=64, validation_split=0.1, verbose=verbose)
    loss, accuracy = model.evaluate(test, batch_size=256)
    print("test loss: %.4f - test accuracy: %.4f" % (loss, accuracy))
    return model, loss, accuracy


if __name__ == "__main__":
    main(*sys.argv[1:2], *[int(a) for a in sys.argv[2:4]])
