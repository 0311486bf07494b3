"""Networks, one file per family; a variant (``ganzoo/variants/``) builds them, nothing else does.

Files by task (a new family adds its own file here and touches no other):

* unconditional generation: ``mlp.py`` (2-D toy data, classic GAN), ``dcgan.py`` (images,
  16-128 px), ``stylegan2.py`` (+ ``resample.py``, FIR up/down-sampling), ``vae.py`` (the VAE
  baseline's encoders and decoders);
* class-conditional generation: ``conditional.py`` (conditional DCGAN), ``biggan.py``,
  ``biggan_deep.py`` (imported weights), ``heads.py`` (discriminators with a second output:
  ACGAN's class head, InfoGAN's Q, EBGAN/BEGAN's autoencoder D);
* inference (image -> code): ``bigan.py`` (encoders and the joint or code discriminators of
  BiGAN/ALI and AAE);
* unpaired translation: ``cyclegan.py`` (ResNet generator, PatchGAN);
* paired and multi-domain translation: ``pix2pix.py`` (U-Net), ``stargan.py``;
* super-resolution and inpainting: ``srgan.py``, ``esrgan.py`` (RRDB), ``inpaint.py`` (context
  encoder);
* frozen feature networks with weights from a file: ``vgg.py`` (VGG-19 for perceptual losses,
  VGG-16 for LPIPS; FID's Inception lives in ``ganzoo/metrics/inception.py``).
"""
